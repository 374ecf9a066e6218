import { FormatRegistry } from '@sinclair/typebox';

/**
 * String formats the schemas use, registered with TypeBox (which checks a format only once it knows it). `date`
 * is also known to Fastify's validator (ajv-formats), with the same meaning: a real calendar day.
 */
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const PARTIAL = /^(-?\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** `YYYY-MM-DD` naming a day that exists (no 2099-99-99, no 0000-00-00, no February 30). */
export function isCalendarDate(text: string): boolean {
  const m = DAY.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo);
}

/** `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (a real day), or a range `A/B` of those with A not after B. */
export function isPartialDate(text: string): boolean {
  const parts = text.split('/');
  if (parts.length > 2) return false;
  const keys: string[] = [];
  for (const part of parts) {
    const m = PARTIAL.exec(part);
    if (!m) return false;
    const y = Number(m[1]);
    if (m[2] !== undefined) {
      const mo = Number(m[2]);
      if (mo < 1 || mo > 12) return false;
      if (m[3] !== undefined) {
        const d = Number(m[3]);
        if (d < 1 || d > daysIn(y, mo)) return false;
      }
    }
    keys.push(`${String(y + 10_000).padStart(5, '0')}${m[2] ?? '00'}${m[3] ?? '00'}`);
  }
  return keys.length === 1 || keys[0]! <= keys[1]!;
}

if (!FormatRegistry.Has('date')) FormatRegistry.Set('date', isCalendarDate);
if (!FormatRegistry.Has('ciku-partial-date')) FormatRegistry.Set('ciku-partial-date', isPartialDate);
