/**
 * Writes a session's reports: `report.md` for a change ticket and `report.json` with the same
 * data. This is an artefact writer, so everything passes through the redactor first, and each
 * file is written to a temporary name and renamed, so a reader never sees half a report.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { readJournal, type JournalContents } from '../engine/journal.js';
import { redact, redactDeep } from '../engine/redact.js';
import { renderMarkdown } from './markdown.js';
import { buildReport, type ReportData, type ReportInput } from './model.js';

export { buildReport, REPORT_VERSION, type ReportData, type ReportInput } from './model.js';
export { renderMarkdown } from './markdown.js';

/** Where the reports went. */
export interface ReportPaths {
  markdown: string;
  json: string;
}

/**
 * Builds and writes both reports into `input.directory`. When no journal is given, the
 * directory is read as a session directory for its backups and unconfirmed changes.
 */
export async function writeReports(input: ReportInput): Promise<ReportPaths> {
  const journal = input.journal ?? (await tryReadJournal(input.directory));
  const data: ReportData = redactDeep(buildReport({ ...input, journal }));

  await mkdir(input.directory, { recursive: true });
  const markdown = join(input.directory, 'report.md');
  const json = join(input.directory, 'report.json');
  await writeAtomically(markdown, redact(renderMarkdown(data)));
  await writeAtomically(json, redact(JSON.stringify(data, null, 2)) + '\n');
  return { markdown, json };
}

async function tryReadJournal(directory: string): Promise<JournalContents | undefined> {
  const contents = await readJournal(directory).catch(() => undefined);
  return contents && contents.entries.length > 0 ? contents : undefined;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await rename(temporary, path);
}
