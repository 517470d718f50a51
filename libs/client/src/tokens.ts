/**
 * Where the client gets its bearer token: a fixed string, or a function it
 * calls for one, which it calls again with `{ refresh: true }` when the gateway
 * refused the last one (expired, rotated). Absent: calls go without a token.
 */
export type TokenSource = string | ((context: { refresh: boolean }) => string | Promise<string>);

/** One token at a time, shared by the REST calls and the socket of one client; a refresh replaces it for all. */
export class Tokens {
  private current: Promise<string | undefined>;
  private refreshing: Promise<string | undefined> | null = null;

  constructor(private readonly source?: TokenSource) {
    this.current =
      typeof source === 'function' ? Promise.resolve().then(() => source({ refresh: false })) : Promise.resolve(source);
    // A failed first fetch is retried by the next get(); nobody awaits this one yet.
    this.current.catch(() => undefined);
  }

  /** Whether a refused token can be replaced by asking the source again. */
  get refreshable(): boolean {
    return typeof this.source === 'function';
  }

  async get(): Promise<string | undefined> {
    try {
      return await this.current;
    } catch (err) {
      // The source failed: ask it again next time rather than failing forever.
      if (this.refreshable) this.current = this.ask(false);
      throw err;
    }
  }

  /**
   * A new token, after `refused` was refused. Concurrent callers refused the same
   * token share one refresh; one refused an older token gets the current one.
   */
  async refresh(refused: string | undefined): Promise<string | undefined> {
    const source = this.source;
    if (typeof source !== 'function') return this.current;
    if (this.refreshing) return this.refreshing;
    const latest = await this.current.catch(() => undefined);
    if (latest !== refused) return latest;
    this.refreshing = this.ask(true);
    this.current = this.refreshing;
    try {
      return await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  private ask(refresh: boolean): Promise<string | undefined> {
    const source = this.source as Exclude<TokenSource, string>;
    return Promise.resolve().then(() => source({ refresh }));
  }
}
