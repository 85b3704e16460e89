"""gRPC C-core (Debian python3-grpcio) as a client of the sidecar, for test/grpc-interop.test.ts.

Reads one JSON object on stdin: {"port", "allow", "deny"} (the two CheckRequests as hex, built
by the test from the same protos) and the scenario to run ("basic", "load" or "drain"); prints one JSON
object with what happened. Messages go as raw bytes (no generated stubs: grpcio-tools is not
in Debian's python3-grpcio), the decision is read from the CheckResponse bytes.
"""
import json
import sys
import threading
import time

import grpc

CHECK = '/envoy.service.auth.v3.Authorization/Check'
HEALTH_CHECK = '/grpc.health.v1.Health/Check'
HEALTH_WATCH = '/grpc.health.v1.Health/Watch'
SERVING = b'\x08\x01'


def decision(resp):
    """x-ascend-decision from a serialized CheckResponse (a HeaderValue's value, field 2)."""
    at = resp.find(b'x-ascend-decision\x12')
    if at < 0:
        return None
    at += len(b'x-ascend-decision\x12')
    return resp[at + 1:at + 1 + resp[at]].decode()


def health_request(service):
    raw = service.encode()
    return (b'\x0a' + bytes([len(raw)]) + raw) if raw else b''


def code_of(fn):
    try:
        fn()
        return 'OK'
    except grpc.RpcError as e:
        return e.code().name


def basic(cfg, allow, deny):
    out = {}
    with grpc.insecure_channel(f"127.0.0.1:{cfg['port']}") as ch:
        check = ch.unary_unary(CHECK)
        out['allow'] = decision(check(allow, timeout=10))
        out['deny'] = decision(check(deny, timeout=10))
        hc = ch.unary_unary(HEALTH_CHECK)
        out['health'] = hc(health_request(''), timeout=10) == SERVING
        out['healthAuthz'] = hc(health_request('envoy.service.auth.v3.Authorization'), timeout=10) == SERVING
        out['healthUnknown'] = code_of(lambda: hc(health_request('nope'), timeout=10))
        watch = ch.unary_stream(HEALTH_WATCH)(health_request(''), timeout=10)
        out['watchFirst'] = next(watch) == SERVING
        watch.cancel()
        # A deadline the server is told in grpc-timeout: met, and 1 µs (sent as "1m": met or not).
        out['deadlineMet'] = decision(check(allow, timeout=5))
        out['deadlinePassed'] = code_of(lambda: check(allow, timeout=0.000001))
    with grpc.insecure_channel(f"127.0.0.1:{cfg['port']}", compression=grpc.Compression.Gzip) as gz:
        out['gzip'] = decision(gz.unary_unary(CHECK)(allow, timeout=10))
    return out


def load(cfg, allow, deny, channels=3, calls=500, in_flight=8):
    """Every other call cancelled at once; an uncancelled call that fails is lost."""
    lost = []
    answered = [0]
    cancelled = [0]
    lock = threading.Lock()

    def run_channel(n):
        with grpc.insecure_channel(f"127.0.0.1:{cfg['port']}") as ch:
            check = ch.unary_unary(CHECK)
            slots = threading.Semaphore(in_flight)
            futures = []
            for i in range(calls):
                slots.acquire()
                f = check.future(allow if i % 4 else deny, timeout=30)
                f.add_done_callback(lambda _f: slots.release())
                if i % 2 == 1:
                    f.cancel()
                else:
                    futures.append(f)
            for f in futures:
                try:
                    d = decision(f.result())
                    with lock:
                        if d in ('allowed', 'denied'):
                            answered[0] += 1
                        else:
                            lost.append(f'channel {n}: answer without a decision')
                except grpc.RpcError as e:
                    with lock:
                        lost.append(f'channel {n}: {e.code().name} {e.details()}')
            with lock:
                cancelled[0] += calls - len(futures)

    threads = [threading.Thread(target=run_channel, args=(n,)) for n in range(channels)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {'answered': answered[0], 'cancelled': cancelled[0], 'lost': len(lost), 'lostExamples': lost[:5]}


def drain(cfg, allow, deny, channels=3, in_flight=8, limit_s=30):
    """Calls until the server is gone (the first failure), then waits for those in flight."""
    answered = [0]
    failures = []
    stop = threading.Event()
    lock = threading.Lock()
    deadline = time.monotonic() + limit_s

    def run_channel(n):
        with grpc.insecure_channel(f"127.0.0.1:{cfg['port']}") as ch:
            check = ch.unary_unary(CHECK)
            slots = threading.Semaphore(in_flight)

            def done(f):
                slots.release()
                try:
                    ok = decision(f.result()) in ('allowed', 'denied')
                    with lock:
                        if ok:
                            answered[0] += 1
                        else:
                            failures.append('answer without a decision')
                except grpc.RpcError as e:
                    with lock:
                        failures.append(f'{e.code().name} {e.details()}')
                    stop.set()

            i = 0
            while not stop.is_set() and time.monotonic() < deadline:
                slots.acquire()
                check.future(allow if i % 4 else deny, timeout=30).add_done_callback(done)
                i += 1
            for _ in range(in_flight):
                slots.acquire()

    threads = [threading.Thread(target=run_channel, args=(n,)) for n in range(channels)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {'answered': answered[0], 'failures': failures[:20], 'failed': len(failures)}


def main():
    cfg = json.load(sys.stdin)
    allow, deny = bytes.fromhex(cfg['allow']), bytes.fromhex(cfg['deny'])
    started = time.monotonic()
    scenario = {'basic': basic, 'load': load, 'drain': drain}[cfg['scenario']]
    result = scenario(cfg, allow, deny, **(cfg.get('load') or {}))
    result['seconds'] = round(time.monotonic() - started, 3)
    print(json.dumps(result))


main()
