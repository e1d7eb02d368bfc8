// The extension's contributions in package.json hold together: every command a
// menu or a welcome button names is contributed, every view has welcome content
// for every state the extension reports, and the container's icon exists.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { WORKSPACE_SUMMARIES } from '../../src/extension/folders';
import { ROOT } from '../support/workspace';

interface Contributes {
  viewsContainers: { activitybar: { id: string; icon: string }[] };
  views: Record<string, { id: string; name: string }[]>;
  viewsWelcome: { view: string; contents: string; when: string }[];
  commands: { command: string; title: string; category?: string }[];
  menus: Record<string, { command: string; when?: string }[]>;
}

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  contributes: Contributes;
};
const contributes = packageJson.contributes;
const commands = new Set(contributes.commands.map((command) => command.command));

void describe('package.json contributions', () => {
  void test('the Sluice container holds Pipelines, Data Snapshots and Environments, with an icon that exists', () => {
    const [container] = contributes.viewsContainers.activitybar;
    assert.equal(container?.id, 'sluice');
    assert.ok(existsSync(join(ROOT, container.icon)), container.icon);
    assert.deepEqual(
      contributes.views['sluice']?.map((view) => [view.id, view.name]),
      [
        ['sluice.pipelines', 'Pipelines'],
        ['sluice.snapshots', 'Data Snapshots'],
        ['sluice.environments', 'Environments'],
      ],
    );
  });

  void test('every command is in the Sluice category, and every menu names a contributed command', () => {
    for (const command of contributes.commands) assert.equal(command.category, 'Sluice', command.command);
    for (const [menu, items] of Object.entries(contributes.menus)) {
      for (const item of items) assert.ok(commands.has(item.command), `${menu}: ${item.command}`);
    }
  });

  void test('every welcome button runs a contributed command or a built-in one', () => {
    for (const welcome of contributes.viewsWelcome) {
      for (const [, command] of welcome.contents.matchAll(/\(command:([\w.]+)\)/g)) {
        assert.ok(
          commands.has(command!) || !command!.startsWith('sluice.'),
          `${welcome.view}: ${command!} is not contributed`,
        );
      }
    }
  });

  void test('every view has welcome content for every state the extension reports', () => {
    for (const view of contributes.views['sluice'] ?? []) {
      for (const state of WORKSPACE_SUMMARIES) {
        assert.ok(
          contributes.viewsWelcome.some(
            (welcome) => welcome.view === view.id && welcome.when === `sluice.workspaceState == ${state}`,
          ),
          `${view.id} has welcome content for ${state}`,
        );
      }
    }
    const used = contributes.viewsWelcome.flatMap((welcome) => [
      ...welcome.when.matchAll(/sluice\.workspaceState [!=]= (\w+)/g),
    ]);
    for (const [, state] of used) {
      assert.ok((WORKSPACE_SUMMARIES as readonly string[]).includes(state!), `unknown state ${state!}`);
    }
  });
});
