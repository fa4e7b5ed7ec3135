/**
 * Renders ReportData as Markdown for a change ticket: outcome first, then the evidence
 * (findings), the plan, what ran, what changed, how to undo it, and what to do next.
 */
import { countPlan } from '../engine/types.js';
import type { ReportData, ReportStep } from './model.js';

/** The Markdown report, sections in reading order for a change ticket. */
export function renderMarkdown(data: ReportData): string {
  const sections = [
    header(data),
    outcome(data),
    findings(data),
    plan(data),
    steps(data),
    checks(data),
    changes(data),
    rollback(data),
    retries(data),
    warnings(data),
    nextCommands(data),
  ];
  return sections.filter((section) => section.length > 0).join('\n\n') + '\n';
}

function header(data: ReportData): string {
  const { target, session } = data;
  const rows: Array<[string, string | undefined]> = [
    ['Workspace', target.workspaceName],
    ['Resource group', target.resourceGroup],
    ['Subscription', target.subscriptionId],
    ['API under test', target.apiUrl],
    ['Command', session.command],
    ['Mode', session.mode],
    ['Session', session.id],
    ['Resumed', session.isResumed === undefined ? undefined : yesNo(session.isResumed)],
    ['Started', session.startedAt],
    ['Duration', session.durationMs === undefined ? undefined : seconds(session.durationMs)],
    ['Report generated', data.generatedAt],
  ];
  const present = rows.filter((row): row is [string, string] => row[1] !== undefined);
  return [
    `# shir-doctor report: ${inline(target.workspaceName)}`,
    table(['', ''], present.map(([label, value]) => [`**${label}**`, code(value)])),
  ].join('\n\n');
}

function outcome(data: ReportData): string {
  const lines = ['## Outcome', '', `**${data.outcome}**: ${inline(data.headline)}`];
  if (data.isApiReachable !== undefined) {
    lines.push('', `API reachable through the self-hosted runtime: ${yesNo(data.isApiReachable)}`);
  }
  if (data.error) {
    const { what, why, fix, code: errorCode } = data.error;
    lines.push('', `- What happened: ${inline(what)} (\`${errorCode}\`)`);
    if (why) lines.push(`- Why: ${inline(why)}`);
    lines.push(`- **Next step: ${inline(fix)}**`);
  }
  return lines.join('\n');
}

function findings(data: ReportData): string {
  if (data.findings.length === 0) return '## Findings\n\nNone recorded.';

  const items = data.findings.map((finding) => {
    const evidence = finding.evidence.map((line) => `  - evidence: ${code(line)}`);
    const subject = finding.subject ? ` (${code(finding.subject)})` : '';
    const title = `- **${finding.severity}** ${inline(finding.title)}${subject}`;
    return [title, ...evidence].join('\n');
  });
  return ['## Findings', '', ...items].join('\n');
}

function plan(data: ReportData): string {
  if (!data.plan) return '';

  const tally = countPlan(data.plan);
  const counts = `${tally.create} to create, ${tally.update} to update, ` +
    `${tally.delete} to delete, ${tally.keep} kept`;
  const approval = data.approvedBy ? ` Approved by ${data.approvedBy}.` : '';
  const rows = data.plan.items.map((item) => [
    item.action,
    item.kind,
    code(item.name),
    inline(item.detail),
    inline(item.evidence.join('; ')),
  ]);
  const body = rows.length ? table(['Action', 'Kind', 'Name', 'Change', 'Evidence'], rows) : '';
  return ['## Plan', '', `${counts}.${approval}`, '', body].join('\n').trimEnd();
}

function steps(data: ReportData): string {
  if (data.steps.length === 0) return '';

  const rows = data.steps.map((step) => [
    inline(step.title),
    statusLabel(step),
    step.elapsedMs === undefined ? '' : seconds(step.elapsedMs),
    inline(step.error ? `${step.error.what} Fix: ${step.error.fix}` : step.detail ?? ''),
  ]);
  return ['## Steps', '', table(['Step', 'Result', 'Time', 'Detail'], rows)].join('\n');
}

function statusLabel(step: ReportStep): string {
  return step.status === 'running' ? 'did not finish' : step.status;
}

function checks(data: ReportData): string {
  if (data.checks.length === 0) return '';

  const rows = data.checks.map((check) => [
    inline(check.name),
    check.isPassing ? 'pass' : 'FAIL',
    inline(check.detail),
  ]);
  return ['## Checks', '', table(['Check', 'Result', 'Detail'], rows)].join('\n');
}

function changes(data: ReportData): string {
  const { created, updated, deleted } = data.changes;
  const list = (label: string, names: string[]) =>
    names.length ? [`- ${label}:`, ...names.map((name) => `  - ${code(name)}`)] : [];
  const lines = [
    ...list('Created', created),
    ...list('Updated', updated),
    ...list('Deleted', deleted),
  ];
  return ['## Changes made', '', ...(lines.length ? lines : ['No changes were made.'])].join('\n');
}

function rollback(data: ReportData): string {
  const lines = ['## Backups and rollback', ''];
  if (data.backups.length === 0) lines.push('No definitions were backed up.');
  for (const backup of data.backups) {
    const etag = backup.etag ? `, ETag ${code(backup.etag)}` : '';
    lines.push(`- ${backup.kind} ${code(backup.name)}: ${code(backup.path)}${etag}`);
  }
  if (data.uncertainChanges.length > 0) {
    lines.push('', 'Started but not confirmed (check these resources before acting):');
    for (const change of data.uncertainChanges) {
      const { action, kind, name, resourceId } = change;
      lines.push(`- ${action} ${kind} ${code(name)}: ${code(resourceId)}`);
    }
  }
  if (data.rollbackCommand) {
    lines.push('', 'To restore the backed-up definitions:', '', fence(data.rollbackCommand));
    if (data.changes.created.length > 0) {
      lines.push('', 'Add `--delete-created` to also delete the resources this session created.');
    }
  }
  return lines.join('\n');
}

function retries(data: ReportData): string {
  if (data.retries.count === 0) return '';

  const rows = data.retries.items.map((retry) => [
    code(retry.operation),
    String(retry.attempt),
    retry.statusCode === undefined ? 'network' : String(retry.statusCode),
    seconds(retry.delayMs),
  ]);
  const intro = `Azure calls were retried ${data.retries.count} time(s).`;
  const body = rows.length ? ['', table(['Operation', 'Attempt', 'Status', 'Waited'], rows)] : [];
  return ['## Retries', '', intro, ...body].join('\n');
}

function warnings(data: ReportData): string {
  if (data.warnings.length === 0) return '';
  return ['## Warnings', '', ...data.warnings.map((warning) => `- ${inline(warning)}`)].join('\n');
}

function nextCommands(data: ReportData): string {
  if (data.nextCommands.length === 0) return '';
  return ['## Next', '', fence(data.nextCommands.join('\n'))].join('\n');
}

function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Table cells cannot hold pipes or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function inline(text: string): string {
  return text.replace(/\r?\n/g, ' ').trim();
}

function code(text: string): string {
  const clean = inline(text);
  const ticks = clean.includes('`') ? '``' : '`';
  return clean.length ? `${ticks}${clean}${ticks}` : '';
}

function fence(text: string): string {
  return ['```sh', text, '```'].join('\n');
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}
