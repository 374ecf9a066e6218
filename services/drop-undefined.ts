/**
 * `{ a: 1, b: undefined }` → `{ a: 1 }`, typed so that keys which may be undefined become optional: what
 * `exactOptionalPropertyTypes` asks for when normalising partial data from outside tools into our schemas.
 */
export type DropUndefined<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

export function dropUndefined<T extends object>(o: T): DropUndefined<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as DropUndefined<T>;
}
