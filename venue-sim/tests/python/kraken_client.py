#!/usr/bin/env python3
"""A Kraken FIX 4.4 client written from SPEC alone (shared/kraken-fix/SPEC.md), with the
standard library's ssl module and simplefix from PyPI — no tickwire code.

It verifies the venue's certificate against the CA file it is given, then:
  market data (KRAKEN-MD): Logon, InstrumentListRequest (35=x -> y), MarketDataRequest for
    BTC/USD depth 10 with trades (35=V -> W, then X), keeps the L2 book from W/X and checks
    every 5041 checksum (SPEC 4.11), TradingSessionStatusRequest (35=g -> h);
  trading (KRAKEN-TRD): Logon with the HMAC password of SPEC 2.2 (credentials not echoed),
    a post-only limit buy below the market (35=D -> 8 150=0), an amend of its quantity
    (35=G -> 8 150=5), its cancel (35=F -> 8 150=4 "Order canceled by user"), a cancel of
    the now unknown order (35=j 380=101 "EOrder:Unknown order"), Logout.
Prints one "OK ..." line and exits 0, or prints the failure and exits 1.
"""

import argparse
import base64
import hashlib
import hmac
import socket
import ssl
import sys
import time
import zlib

import simplefix

SOH = b"\x01"


def password(seq, sender, target, key, secret_b64, nonce_ms):
    mi = f"35=A\x0134={seq}\x0149={sender}\x0156={target}\x01553={key}\x01"
    digest = hashlib.sha256((mi + str(nonce_ms)).encode()).digest()
    mac = hmac.new(base64.b64decode(secret_b64), digest, hashlib.sha512).digest()
    return base64.b64encode(mac).decode()


class Fail(Exception):
    pass


class Session:
    def __init__(self, host, port, ca, server_name, sender, target):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        raw = socket.create_connection((host, port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname=server_name)
        if self.sock.version() != "TLSv1.3":
            raise Fail(f"TLS version {self.sock.version()}")
        self.parser = simplefix.FixParser()
        self.sender, self.target = sender, target
        self.seq = 1

    def send(self, msg_type, fields):
        m = simplefix.FixMessage()
        m.append_pair(8, "FIX.4.4", header=True)
        m.append_pair(35, msg_type, header=True)
        m.append_pair(34, self.seq, header=True)
        m.append_pair(49, self.sender, header=True)
        m.append_pair(56, self.target, header=True)
        m.append_utc_timestamp(52, precision=3, header=True)
        for tag, value in fields:
            m.append_pair(tag, value)
        self.sock.sendall(m.encode())
        self.seq += 1
        return self.seq - 1

    def recv(self, timeout):
        deadline = time.time() + timeout
        while True:
            m = self.parser.get_message()
            if m is not None:
                if m.get(35) == b"1":
                    self.send("0", [(112, m.get(112).decode())])
                return m
            left = deadline - time.time()
            if left <= 0:
                raise Fail("timeout waiting for a message")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise Fail("connection closed")
            self.parser.append_buffer(data)

    def expect(self, what, pred, timeout=5.0, on_other=None):
        deadline = time.time() + timeout
        while True:
            m = self.recv(max(0.01, deadline - time.time()))
            if pred(m):
                return m
            if on_other is not None:
                on_other(m)


def field(m, tag):
    v = m.get(tag)
    return None if v is None else v.decode()


def pairs(m):
    return [(int(t), v.decode()) for t, v in m.pairs]


class L2Book:
    """The client's book from W and X (SPEC 4.10, 4.11) and Kraken's checksum."""

    def __init__(self, depth, price_precision, qty_precision):
        self.depth, self.pp, self.qp = depth, price_precision, qty_precision
        self.bids, self.asks = {}, {}
        self.checked = 0

    @staticmethod
    def entries(m):
        """The 268 group: entries start at 279 in X, at 269 in W."""
        ps = pairs(m)
        start = 279 if any(t == 279 for t, _ in ps) else 269
        out = []
        for tag, value in ps:
            if tag == start:
                out.append({})
            if out and tag in (279, 269, 278, 270, 271):
                out[-1][tag] = value
        return out

    def snapshot(self, m):
        self.bids, self.asks = {}, {}
        for e in self.entries(m):
            side = self.bids if e[269] == "0" else self.asks
            side[e[270]] = e[271]

    def apply(self, m):
        for e in self.entries(m):
            if e.get(269) == "2":
                continue
            side = self.bids if e[269] == "0" else self.asks
            if e[279] == "2":
                side.pop(e[270], None)
            else:
                side[e[270]] = e[271]
        for side, rev in ((self.bids, True), (self.asks, False)):
            for p in sorted(side, key=float, reverse=rev)[self.depth:]:
                del side[p]
        want = field(m, 5041)
        if want is not None:
            got = self.checksum()
            if got != int(want):
                raise Fail(f"checksum {got} != 5041={want}; asks {self.asks} bids {self.bids}")
            self.checked += 1

    def checksum(self):
        def digits(text, decimals):
            whole, _, frac = text.partition(".")
            frac = (frac + "0" * decimals)[:decimals]
            return (whole + frac).lstrip("0") or "0"

        s = ""
        for p in sorted(self.asks, key=float)[:10]:
            s += digits(p, self.pp) + digits(self.asks[p], self.qp)
        for p in sorted(self.bids, key=float, reverse=True)[:10]:
            s += digits(p, self.pp) + digits(self.bids[p], self.qp)
        return zlib.crc32(s.encode()) & 0xFFFFFFFF


def run(a):
    # ---- market data ----
    md = Session(a.host, a.md_port, a.ca, a.server_name, a.sender, "KRAKEN-MD")
    md.send("A", [(98, 0), (108, 30), (141, "Y")])
    md.expect("MD logon", lambda m: m.get(35) == b"A")
    md.send("x", [(320, "IL-1"), (263, 0), (559, 4)])
    il = md.expect("InstrumentList", lambda m: m.get(35) == b"y")
    symbols = [v.decode() for t, v in il.pairs if t == b"55"]
    if a.symbol not in symbols or field(il, 560) != "0":
        raise Fail(f"InstrumentList {symbols} result {field(il, 560)}")
    idx = symbols.index(a.symbol)
    pp = int([v for t, v in il.pairs if t == b"2349"][idx])
    qp = int([v for t, v in il.pairs if t == b"5010"][idx])
    tick = float([v for t, v in il.pairs if t == b"5022"][idx])
    md.send(
        "V",
        [(262, "MD-1"), (263, 1), (264, 10), (265, 1), (266, "Y"), (267, 3), (269, 0), (269, 1),
         (269, 2), (146, 1), (55, a.symbol)],
    )
    snap = md.expect("snapshot", lambda m: m.get(35) in (b"W", b"Y"))
    if snap.get(35) == b"Y":
        raise Fail(f"MD request rejected: {field(snap, 58)}")
    book = L2Book(10, pp, qp)
    book.snapshot(snap)
    if not book.bids or not book.asks:
        raise Fail("empty snapshot; is the synthetic market running?")
    trades = 0
    deadline = time.time() + 10
    while (book.checked < 3 or trades < 1) and time.time() < deadline:
        m = md.expect("incremental", lambda m: m.get(35) == b"X", timeout=10)
        if field(m, 262) != "MD-1":
            raise Fail("wrong MDReqID")
        if b"269=2\x01" in m.encode():
            trades += 1
        else:
            book.apply(m)
    if book.checked < 3:
        raise Fail(f"only {book.checked} checksummed incrementals")
    md.send("g", [(335, "TS-1"), (336, "SESSION"), (263, 0)])
    h = md.expect("TradingSessionStatus", lambda m: m.get(35) == b"h",
                  on_other=lambda m: m.get(35) == b"X" and book.apply(m))
    if field(h, 340) != "2":
        raise Fail(f"TradSesStatus {field(h, 340)}")
    best_bid = max(float(p) for p in book.bids)

    # ---- trading ----
    tr = Session(a.host, a.trd_port, a.ca, a.server_name, a.sender, "KRAKEN-TRD")
    nonce = int(time.time() * 1000)
    pw = password(1, a.sender, "KRAKEN-TRD", a.key, a.secret, nonce)
    tr.send("A", [(98, 0), (108, 30), (141, "Y"), (553, a.key), (554, pw), (5025, nonce),
                  (8674, 0)])
    ack = tr.expect("trading logon", lambda m: m.get(35) in (b"A", b"5"))
    if ack.get(35) != b"A":
        raise Fail(f"logon refused: {field(ack, 58)}")
    if ack.get(553) is not None or ack.get(554) is not None:
        raise Fail("credentials echoed")

    def now_fix():
        return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000"

    cl = int(time.time() * 1_000_000)
    px = f"{best_bid - 100 * tick:.{pp}f}"
    tr.send("D", [(11, cl), (55, a.symbol), (54, 1), (40, 2), (44, px), (38, "0.01"), (59, 1),
                  (18, "P"), (60, now_fix())])
    new = tr.expect("New", lambda m: m.get(35) in (b"8", b"j", b"3"))
    if (field(new, 35), field(new, 150), field(new, 39)) != ("8", "0", "0"):
        raise Fail(f"expected New, got {pairs(new)}")
    order_id = field(new, 37)
    if field(new, 11) != str(cl):
        raise Fail("ClOrdID not echoed")

    amend = cl + 1
    tr.send("G", [(11, amend), (37, order_id), (41, cl), (54, 1), (55, a.symbol),
                  (60, now_fix()), (38, "0.005"), (40, 2), (44, px), (59, 1)])
    rep = tr.expect("Replaced", lambda m: m.get(35) in (b"8", b"j", b"3"))
    if (field(rep, 150), field(rep, 39), field(rep, 38)) != ("5", "5", "0.005"):
        raise Fail(f"expected Replaced, got {pairs(rep)}")

    cancel = cl + 2
    tr.send("F", [(11, cancel), (37, order_id), (41, amend), (54, 1), (55, a.symbol),
                  (60, now_fix())])
    can = tr.expect("Canceled", lambda m: m.get(35) in (b"8", b"j", b"3"))
    if (field(can, 150), field(can, 39), field(can, 58)) != ("4", "4", "Order canceled by user"):
        raise Fail(f"expected Canceled, got {pairs(can)}")

    tr.send("F", [(11, cl + 3), (37, order_id), (54, 1), (55, a.symbol), (60, now_fix())])
    rej = tr.expect("BusinessMessageReject", lambda m: m.get(35) in (b"8", b"j", b"3"))
    if (field(rej, 35), field(rej, 380), field(rej, 58)) != ("j", "101", "EOrder:Unknown order"):
        raise Fail(f"expected 35=j 380=101, got {pairs(rej)}")

    tr.send("5", [])
    tr.expect("Logout", lambda m: m.get(35) == b"5")
    md.send("5", [])
    md.expect("MD Logout", lambda m: m.get(35) == b"5",
              on_other=lambda m: None)
    print(f"OK instruments={len(symbols)} bids={len(book.bids)} asks={len(book.asks)} "
          f"checksums={book.checked} trades={trades} order={order_id}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--server-name", default="localhost")
    p.add_argument("--md-port", type=int, default=4000)
    p.add_argument("--trd-port", type=int, default=4001)
    p.add_argument("--ca", required=True)
    p.add_argument("--sender", default="TESTCLIENT")
    p.add_argument("--key", default="FIXTESTKEY123")
    p.add_argument("--secret", required=True)
    p.add_argument("--symbol", default="BTC/USD")
    a = p.parse_args()
    try:
        run(a)
    except (Fail, OSError, ssl.SSLError) as e:
        print(f"FAIL {type(e).__name__}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
