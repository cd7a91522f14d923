/** A page of a list route: `?limit=&offset=` in, `{data, total}` out (docs/api.md#pagination). */
export interface Page<T> {
  data: T[];
  total: number;
}

/** Every item of a paginated list, fetched a page at a time as the loop asks for more. */
export async function* paginate<T>(
  fetchPage: (page: { limit: number; offset: number }) => Promise<Page<T>>,
  pageSize = 100,
): AsyncGenerator<T> {
  for (let offset = 0; ;) {
    const page = await fetchPage({ limit: pageSize, offset });
    yield* page.data;
    offset += page.data.length;
    if (page.data.length === 0 || offset >= page.total) return;
  }
}

/** All items of a paginated list in one array. */
export async function collectAll<T>(
  fetchPage: (page: { limit: number; offset: number }) => Promise<Page<T>>,
  pageSize = 100,
): Promise<T[]> {
  const out: T[] = [];
  for await (const item of paginate(fetchPage, pageSize)) out.push(item);
  return out;
}
