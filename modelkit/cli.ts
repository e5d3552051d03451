/**
 * `npm run model -- <command>`: the model owner's command line (docs/models.md).
 *
 *   npm run model -- import float.onnx --calibration rows.npy [--labels l.json] [--held-out h.csv] --out DIR
 *   npm run model -- inspect DIR|file.onnx
 *   npm run model -- register DIR --rpc-url URL --deployment FILE --private-key 0x… [--uri URI]
 *   npm run model -- verify DIR --model-id N --rpc-url URL --deployment FILE
 *
 * DIR is a Dense model folder (integer.onnx, descriptor.json) or a graph program's folder
 * (program.json, descriptor.json): import writes either, and inspect, register and verify take
 * either (a graph folder is registered with registerGraphModel and its dispute shape).
 *
 * Reports go to stdout; progress and errors to stderr. Exit status: 0 done, 1 failed or the check
 * found problems, 2 bad command line.
 */
import { type Command, Option } from "commander";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type CliIo, PRIVATE_KEY_ENV, UsageError, cliProgram, parseUint, privateKeyOption, runMain, runProgram } from "../core/chain/cliOptions";
import { readDeployment } from "../core/chain/deployment";
import { registerGraphModel } from "../core/chain/graphModelRegistration";
import { checkRegisteredModel, readRegisteredModel, registerModel } from "../core/chain/modelRegistration";
import { connectRpc, walletFor } from "../core/chain/rpcClients";
import { initKeccak } from "../core/keccak";
import { importModel, writeModelFolder } from "../core/modelImport/importModel";
import { formatInspection, inspectPath } from "../core/modelImport/inspectModel";
import { formatReport } from "../core/modelImport/quantisationReport";
import { readLabels, readSamples } from "../core/modelImport/samples";
import { readModelFolder } from "../core/modelFolders";
import { checkModelDisputes } from "./disputeCheck";
import { readFloatModel } from "../core/onnx/floatModel";
import { formatGraphInspection, inspectGraphFolder } from "../core/graph/inspectGraphFolder";
import { writeGraphModelFolder } from "../core/graph/modelFolder";
import { sizeOf } from "../core/graph/program";
import { validateProgram } from "../core/graph/validate";
import { formatGraphReport } from "../core/modelImport/graph/graphReport";
import { importGraphModel } from "../core/modelImport/graph/importGraphModel";
import { readFloatGraph } from "../core/modelImport/graph/readFloatGraph";

export type ModelCliIo = CliIo;

/** Runs the command line `argv` (without node and the script); resolves to the exit status. */
export async function runModelCli(argv: readonly string[], io: ModelCliIo): Promise<number> {
  return runProgram((exit) => buildProgram(io, exit), argv, io);
}

function buildProgram(io: ModelCliIo, exit: (code: number) => void): Command {
  const program = cliProgram("npm run model --", io).description(
    "Bring a model to Refute: import a float ONNX model, inspect a model, see what its disputes cost, register it on a deployment and check a folder against the registry.",
  );

  program
    .command("import")
    .description("quantise a float ONNX model into a model folder (integer.onnx or program.json, descriptor.json, float.onnx) and print the quantisation report")
    .argument("<float.onnx>", "the float model: a chain of Gemm/MatMul(+Add)/Relu/Flatten (a Dense folder), or a graph with Conv, BatchNormalization, pools, Add, Mul, Clip, HardSigmoid, HardSwish and layout ops (a graph folder: program.json)")
    .requiredOption("--calibration <file>", "samples that calibrate the activation scales (.json rows, .csv or .npy; any shape per row, flattened)")
    .option("--held-out <file>", "samples the report evaluates instead of the calibration ones (same formats)")
    .option("--labels <file>", "class of each evaluated sample (.json, .csv or .npy integers): the report gives float and integer accuracy")
    .requiredOption("--out <folder>", "where to write the model folder")
    .option("--name <name>", "the model's name in descriptor.json (default: the folder's name)")
    .option("--force", "overwrite a folder that already holds a model")
    .action(async (file: string, o: { calibration: string; heldOut?: string; labels?: string; out: string; name?: string; force?: boolean }) => {
      await initKeccak();
      const floatOnnx = readFile(file, "float model");
      const outDir = path.resolve(o.out);
      if (!o.force && existsSync(path.join(outDir, "descriptor.json"))) throw new UsageError(`${outDir} already holds a model (descriptor.json); pass --force to overwrite it`);
      // A chain of Dense layers becomes today's Dense folder; any other graph a graph program's folder.
      if (!isDenseChain(floatOnnx)) return importGraph(file, floatOnnx, outDir, o, io);
      const float = inFile(file, () => readFloatModel(floatOnnx));
      const inputSize = float.inputSize;
      const calibration = readSamples(o.calibration, inputSize);
      const inputs = o.heldOut !== undefined ? readSamples(o.heldOut, inputSize) : calibration;
      const labels = o.labels !== undefined ? readLabels(o.labels, inputs.length, float.layers[float.layers.length - 1].nOut) : undefined;
      const imported = inFile(file, () => importModel(floatOnnx, { name: o.name ?? path.basename(outDir), calibration, evaluation: { inputs, labels, heldOut: o.heldOut !== undefined } }));
      writeModelFolder(outDir, imported);
      for (const line of formatReport(imported.report)) io.out(line);
      io.out(`model root ${imported.descriptor.modelRoot}`);
      io.err(`wrote ${outDir}`);
    });

  program
    .command("inspect")
    .description("ops, shapes, parameters, model root, accumulator margins, quantisation constants, and whether a folder's files agree")
    .argument("<folder|file.onnx>", "a model folder (Dense or graph), an integer.onnx or a float ONNX file")
    .action(async (target: string) => {
      await initKeccak();
      if (existsSync(path.join(target, "program.json"))) {
        const graph = await inspectGraphFolder(target);
        for (const line of formatGraphInspection(graph)) io.out(line);
        if (graph.problems.length > 0) exit(1);
        return;
      }
      const inspection = inspectPath(target);
      for (const line of formatInspection(inspection)) io.out(line);
      if (inspection.problems.length > 0) exit(1);
    });

  program
    .command("disputes")
    .description("play the worst-case dispute of each op kind of a graph program on an embedded chain: the gas of every transaction, and that every lie loses")
    .argument("<folder>", "a graph program's folder (program.json, descriptor.json)")
    .option("--quick", "one lie site per op kind (the longest estimated game) instead of up to four")
    .option("--gas-limit <gas>", "the most gas a transaction may take", "500000")
    .option("--seed <n>", "seed of the random int8 input the honest run is on", "1")
    .action(async (folder: string, o: { quick?: boolean; gasLimit: string; seed: string }) => {
      const gasLimit = parseUint("--gas-limit", o.gasLimit);
      const seed = Number(parseUint("--seed", o.seed));
      await initKeccak();
      const model = readModelFolder(folder);
      if (model.kind !== "graph") throw new Error(`${model.files.dir} is a Dense model (integer.onnx): disputes plays graph programs (program.json); a Dense model's worst case is in npm run bench`);
      if (!(await checkModelDisputes(model.files, { quick: o.quick, gasLimit, seed }, io))) exit(1);
    });

  const chainOptions = (c: Command) =>
    c
      .requiredOption("--rpc-url <url>", "JSON-RPC endpoint of the chain")
      .requiredOption("--deployment <file>", "deployment.json written by npm run deploy (or the demo)");

  chainOptions(
    program
      .command("register")
      .description("register a model folder (Dense, or a graph program with its dispute shape) on a deployment; prints the new model id")
      .argument("<folder>", "the model folder: integer.onnx or program.json, and descriptor.json (checked before anything is sent)")
      .addOption(new Option("--private-key <0x…>", `the model owner's key (or set ${PRIVATE_KEY_ENV})`))
      .option("--uri <uri>", "where nodes fetch the files: http(s)://…/folder, file:///…, or a path (default: the folder as a file:// URL)"),
  ).action(async (folder: string, o: { rpcUrl: string; deployment: string; privateKey?: string; uri?: string }) => {
    const key = privateKeyOption("--private-key", o.privateKey, PRIVATE_KEY_ENV);
    await initKeccak();
    const model = readModelFolder(folder);
    const uri = o.uri ?? pathToFileURL(model.files.dir).href;
    if (o.uri === undefined) io.err(`registering with URI ${uri}: only nodes on this machine can fetch it (give --uri http(s)://… to reach others)`);
    const { clients, deployment } = await connectDeployment(o.rpcUrl, o.deployment);
    const quiet = () => undefined;
    const actor = { publicClient: clients.publicClient, walletClient: walletFor(clients, key), deployment, log: { debug: quiet, info: quiet, warn: quiet, error: quiet } };
    if (model.kind === "graph") {
      const { modelId, transactionHash, registration } = await registerGraphModel(actor, model.files, uri);
      const { root, shape } = registration;
      const shown = Object.entries(shape).map(([k, v]) => `${k} ${v}`).join(", ");
      io.err(`registered ${model.files.dir} (a graph program, root ${root}, dispute shape ${shown}) as model ${modelId} in ${transactionHash}`);
      io.out(String(modelId));
      return;
    }
    const { modelId, transactionHash } = await registerModel(actor, model.files, uri);
    io.err(`registered ${model.files.dir} (root ${model.files.root}) as model ${modelId} in ${transactionHash}`);
    io.out(String(modelId));
  });

  chainOptions(
    program
      .command("verify")
      .description("check that a model folder (Dense or graph) is the registered model N (kind, root, shape, not retired)")
      .argument("<folder>", "the model folder: integer.onnx or program.json, and descriptor.json")
      .requiredOption("--model-id <n>", "the registered model id"),
  ).action(async (folder: string, o: { rpcUrl: string; deployment: string; modelId: string }) => {
    const modelId = parseUint("--model-id", o.modelId);
    await initKeccak();
    const model = readModelFolder(folder);
    const { clients, deployment } = await connectDeployment(o.rpcUrl, o.deployment);
    const registered = await readRegisteredModel(clients.publicClient, deployment.contracts.modelRegistry, modelId);
    const problems = checkRegisteredModel(registered, model.files);
    if (problems.length === 0) {
      const what = model.kind === "graph" ? "a graph program, " : "";
      io.out(`${model.files.dir} is model ${modelId} (${what}root ${registered.root}, URI ${registered.uri})`);
      return;
    }
    for (const p of problems) io.out(`mismatch: ${p}`);
    exit(1);
  });
  return program;
}

function readFile(file: string, what: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Runs `read` on the model in `file`, naming the file in any error it throws. */
function inFile<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** {@link inFile} for a read that resolves later. */
async function inFileAsync<T>(file: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** RPC clients for the deployment in `deploymentFile`, checked to be on the chain the RPC answers for. */
async function connectDeployment(rpcUrl: string, deploymentFile: string) {
  const deployment = readDeployment(deploymentFile);
  const clients = await connectRpc(rpcUrl, { pollingIntervalMs: 200 });
  if (clients.chain.id !== deployment.chainId) throw new Error(`${deploymentFile} is for chain ${deployment.chainId}, ${rpcUrl} is chain ${clients.chain.id}`);
  return { clients, deployment };
}

/** True when the float model is a chain of Dense layers that today's importer reads (it refuses every other op). */
function isDenseChain(floatOnnx: Uint8Array): boolean {
  try {
    readFloatModel(floatOnnx);
    return true;
  } catch {
    return false;
  }
}

/** `import` for a graph: a graph program's folder (program.json, descriptor.json, float.onnx) and its report. */
async function importGraph(file: string, floatOnnx: Uint8Array, outDir: string, o: { calibration: string; heldOut?: string; labels?: string; name?: string }, io: ModelCliIo): Promise<void> {
  const float = inFile(file, () => readFloatGraph(floatOnnx));
  const inputSize = float.input.shape.reduce((a, b) => a * b, 1);
  const calibration = readSamples(o.calibration, inputSize);
  const inputs = o.heldOut !== undefined ? readSamples(o.heldOut, inputSize) : calibration;
  // The class count is the output's size, known once the program is built: labels are read first
  // with any class index allowed, then checked against it.
  const labels = o.labels !== undefined ? readLabels(o.labels, inputs.length, 2 ** 31) : undefined;
  const report = await inFileAsync(file, () => importGraphModel(floatOnnx, { calibration, evaluation: { inputs, labels, heldOut: o.heldOut !== undefined } }));
  const classes = sizeOf(validateProgram(report.program).at(-1)!);
  const outOfRange = labels?.findIndex((l) => l >= classes) ?? -1;
  if (outOfRange >= 0) throw new UsageError(`${o.labels}: label ${outOfRange} is ${labels![outOfRange]}; labels are class indices 0..${classes - 1}`);
  const { agreement, accuracy, outputError } = report.report;
  const descriptor = writeGraphModelFolder(outDir, report.program, {
    name: o.name ?? path.basename(outDir),
    meta: { inputScale: report.scales[0], outputScale: report.scales[report.scales.length - 1], agreement, ...(accuracy ? { accuracy } : {}), outputError },
  });
  writeFileSync(path.join(outDir, "float.onnx"), floatOnnx);
  for (const warning of report.warnings) io.err(`warning: ${warning}`);
  for (const line of formatGraphReport(report.report)) io.out(line);
  io.out(`model root ${descriptor.root}`);
  io.err(`wrote ${outDir} (a graph program: program.json)`);
}

if (require.main === module) runMain(runModelCli);
