import type { CliIo } from "../core/chain/cliOptions";
import { startLocalChain } from "../core/chain/localChain";
import { connectRpc, walletFor } from "../core/chain/rpcClients";
import { type GraphGameActor, deployGraphGame } from "../core/graph/game/gameClient";
import { GAS_TARGET, WORST_CASE_HEADER, overLimitLine, playWorstCases, worstCaseRows } from "../core/graph/game/worstCase";
import type { GraphModelFiles } from "../core/graph/modelFolder";
import { sizeOf } from "../core/graph/program";
import { GraphTraceProvider } from "../core/graph/traceProvider";
import { table } from "../core/markdownTable";
import { Rng } from "../core/rng";

/**
 * `npm run model -- disputes <folder>`: before registering a graph program, its owner (or a node
 * deciding whether to serve it) sees what its disputes cost. On an embedded local chain with the graph
 * game deployed, a lying asserter defends one wrong element per op kind where the game is longest
 * (core/graph/game/worstCase.ts) against the honest challenger, on a seeded random input. The verdict:
 * every transaction within the gas limit (500k by default, the rule of docs/dispute-game.md) and every
 * lie lost with the step computing the honest value; otherwise the lines say what broke it.
 */

export interface DisputeCheckOptions {
  /** One lie site per op kind (the longest estimated game) instead of up to four. */
  readonly quick?: boolean;
  /** The most gas a transaction may take. */
  readonly gasLimit?: bigint;
  /** Seed of the random int8 input the honest run is on. */
  readonly seed?: number;
}

/** Plays the worst-case disputes of the program in `files` and prints the table; true when every check passed. */
export async function checkModelDisputes(files: GraphModelFiles, options: DisputeCheckOptions, io: CliIo): Promise<boolean> {
  const seed = options.seed ?? 1;
  const input = new Rng(seed).int8Array(sizeOf(files.program.inputShape));
  const honest = GraphTraceProvider.fromInput(files.program, input, files.commitment);
  const chain = await startLocalChain();
  try {
    const clients = await connectRpc(chain.rpcUrl, { pollingIntervalMs: 20 });
    const [deployer, opener, asserter, challenger] = chain.accounts;
    const { game } = await deployGraphGame(clients.publicClient, walletFor(clients, deployer.privateKey));
    const actor = (key: `0x${string}`): GraphGameActor => ({ publicClient: clients.publicClient, walletClient: walletFor(clients, key), game });
    let n = 0;
    const report = await playWorstCases(
      honest,
      { opener: actor(opener.privateKey), asserter: actor(asserter.privateKey), challenger: actor(challenger.privateKey) },
      {
        quick: options.quick,
        gasLimit: options.gasLimit ?? GAS_TARGET,
        onGame: (g) => io.err(`game ${++n}: a lie in ${g.kind} (${g.where}): ${g.transactions} transactions, the largest ${g.largest.name} ${g.largest.gas.toLocaleString("en-US")} gas, won by the ${g.asserterWon ? "asserter (the lie!)" : "challenger"}`),
      },
    );
    io.out(
      `worst-case disputes of ${files.dir} (${files.program.ops.length} ops, ${honest.leafCount} trace leaves; the honest run on a random int8 input, seed ${seed}; ${report.games.length} games on an embedded chain):`,
    );
    io.out("");
    for (const line of table(WORST_CASE_HEADER, worstCaseRows(report)).split("\n")) io.out(line);
    io.out("");
    io.out(overLimitLine(report));
    const lieHeld = report.games.filter((g) => g.asserterWon);
    const wrongStep = report.games.filter((g) => !g.asserterWon && !g.stepMatchesHonest);
    for (const g of lieHeld) io.out(`the lie held in ${g.kind} (${g.where}): the asserter won (${g.reason})`);
    for (const g of wrongStep) io.out(`the step in ${g.kind} (${g.where}) did not compute the honest run's value`);
    if (lieHeld.length === 0 && wrongStep.length === 0) io.out(`Every lie lost: the honest challenger won all ${report.games.length} games, the step computing the honest value.`);
    return report.overLimit.length === 0 && lieHeld.length === 0 && wrongStep.length === 0;
  } finally {
    await chain.stop();
  }
}
