// The raw data of the churn example: users and three months of their click
// events. Generated from a fixed seed, so every `sluice init --example churn`
// writes the same bytes and the example's accuracy is the same everywhere.
import type { WorkspaceFile } from './workspaceFile';
import { seededRandom } from '../../seededRandom';

const USER_COUNT = 160;
const SEED = 20240101;
const WINDOW_START = Date.UTC(2024, 0, 1);
const WINDOW_DAYS = 91;
const DAY_MS = 24 * 60 * 60 * 1000;
const PLANS = ['basic', 'pro', 'team'] as const;

interface ClickEvent {
  readonly time: number;
  readonly userId: string;
  readonly kind: string;
}

/**
 * Each user has a hidden engagement in [0, 1]. Engaged users come back often
 * and until the end of the window; disengaged ones fade out early and file
 * more support tickets. Whether a user churned follows engagement plus noise,
 * so the features predict it well but not perfectly.
 */
export function churnDataFiles(): WorkspaceFile[] {
  const random = seededRandom(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const userLines = ['user_id,signup_date,plan,churned'];
  const events: ClickEvent[] = [];

  for (let index = 1; index <= USER_COUNT; index++) {
    const userId = `u${String(index).padStart(3, '0')}`;
    const engagement = random();
    const churned = engagement + (random() - 0.5) * 0.3 < 0.4;
    const signup = WINDOW_START - Math.floor(30 + random() * 300) * DAY_MS;
    userLines.push(`${userId},${isoDate(signup)},${pick(PLANS)},${churned ? 1 : 0}`);

    const lastActiveDay = Math.min(WINDOW_DAYS - 1, Math.round(5 + engagement * 110 + (random() - 0.5) * 20));
    const eventCount = 1 + Math.floor(engagement * 5 + random() * 2);
    const ticketChance = 0.05 + (1 - engagement) * 0.2;
    for (let n = 0; n < eventCount; n++) {
      const day = Math.floor(random() * (lastActiveDay + 1));
      const secondOfDay = Math.floor(random() * 86400);
      const roll = random();
      const kind =
        roll < ticketChance ? 'support_ticket' : roll < 0.55 ? 'login' : roll < 0.85 ? 'view' : 'purchase';
      events.push({ time: WINDOW_START + day * DAY_MS + secondOfDay * 1000, userId, kind });
    }
  }

  events.sort((a, b) => a.time - b.time || a.userId.localeCompare(b.userId));
  const files: WorkspaceFile[] = [{ path: 'data/raw/users.csv', content: `${userLines.join('\n')}\n` }];
  for (const month of ['01', '02', '03']) {
    const lines = ['timestamp,user_id,event'];
    for (const event of events) {
      const timestamp = new Date(event.time).toISOString().replace('.000Z', 'Z');
      if (timestamp.slice(5, 7) === month) lines.push(`${timestamp},${event.userId},${event.kind}`);
    }
    files.push({ path: `data/raw/events/events-2024-${month}.csv`, content: `${lines.join('\n')}\n` });
  }
  return files;
}

function isoDate(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}
