// Runs the compiled flow in Node against the base URL given: `node run_flow.cjs URL`.
const { flow } = require("./out/flow");

flow(process.argv[2], (line) => console.log(line)).catch((error) => {
  console.error(String(error));
  process.exit(1);
});
