/** Reload on the server's `event` (SSE), at most once per 300 ms; EventSource reconnects by itself. */
import { useEffect } from 'preact/hooks';

export function useLive(event: string, reload: () => void): void {
  useEffect(() => {
    const source = new EventSource('/console/api/events');
    let timer: ReturnType<typeof setTimeout> | undefined;
    source.addEventListener(event, () => {
      if (timer === undefined) timer = setTimeout(() => { timer = undefined; reload(); }, 300);
    });
    return () => { source.close(); if (timer !== undefined) clearTimeout(timer); };
  }, [event]);
}

/** Re-render every second (for countdowns). */
export function useTick(setNow: (n: number) => void): void {
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
}

/** Every `event` the server sends, parsed (the live decisions feed). */
export function useLiveData<T>(event: string, onData: (data: T) => void): void {
  useEffect(() => {
    const source = new EventSource('/console/api/events');
    source.addEventListener(event, (e) => {
      try { onData(JSON.parse((e as MessageEvent<string>).data) as T); } catch { /* a malformed event is skipped */ }
    });
    return () => source.close();
  }, [event]);
}
