// Refuses `npm publish` (as the prepublishOnly script) while package.json lacks the fields an npm user follows to find
// the project: repository, homepage and bugs. The project has no public address yet, so they are left out rather than
// made up; this gate makes sure the first publish adds them. Usage: node scripts/publish-check.mjs [package.json]
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? new URL('../package.json', import.meta.url);
const pkg = JSON.parse(readFileSync(file, 'utf8'));

const url = (v) => (typeof v === 'string' ? v : v && typeof v === 'object' ? v.url : undefined);
const missing = ['repository', 'homepage', 'bugs'].filter((field) => {
  const value = url(pkg[field]);
  return typeof value !== 'string' || !/^(https?|git\+https?|git\+ssh):\/\//.test(value);
});

if (missing.length > 0) {
  console.error(
    `publish refused: package.json has no ${missing.join(', ')} (an address starting with https:// or git+https://). ` +
      'Add the public repository, its home page and its issue tracker before publishing.',
  );
  process.exit(1);
}
