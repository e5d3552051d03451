/** The graph dispute game's kit (contracts/graph/GraphDisputeGame.sol): state mirror, planner, step openings, lies. */
export * from "./gameState";
export * from "./gameTrace";
export * from "./stepOpenings";
export * from "./planner";
export * from "./lies";
export * from "./disputeShape";
