import { isCikuError } from '../../services/errors.ts';
import { createCliContext } from './context.ts';
import { generateDemoSource, startWorkers } from './lazy-modules.ts';
import { buildProgram } from './program.ts';

const program = buildProgram({
  openContext: () => createCliContext(process.env),
  startWorkers,
  generateDemoSource,
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // A coded error is the operator's to fix (a bad option, an unknown item): its code and message, exit 2.
  if (isCikuError(err)) {
    process.stderr.write(`${err.code} ${err.message}\n`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
