// solidity-coverage: measure the production contracts, not the test harnesses, mocks and attackers.
module.exports = {
  skipFiles: ["test/"],
};
