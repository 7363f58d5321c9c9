#!/usr/bin/env python3
"""
A tiny authoritative DNS server over UDP for sluice's live-DNS tests (stdlib only).

Import: from dnsserver import DnsServer
        dns = DnsServer(name="app.test", address="127.0.0.1", ttl=1).start()
        dns.port                      # the loopback UDP port it answers on
        dns.set(address="127.0.0.2", ttl=5)   # takes effect for the next query
        dns.set(mode="nxdomain")      # "answer" (default) | "nxdomain" | "silent"
        dns.queries("A")              # queries of that type for the name so far
        dns.stop()

Answers, for the configured name only (case-insensitive): an A query with one
A record (address, ttl); an AAAA query with NOERROR and no record (the name
has no IPv6 address); any other name or type with NXDOMAIN / NOERROR-empty.
mode "nxdomain" answers every query NXDOMAIN; "silent" drops them (the
resolver times out). Binds 127.0.0.1 on a free port; never anything else.
"""

import socket
import struct
import threading

QTYPE_A = 1
QTYPE_AAAA = 28
TYPE_NAMES = {QTYPE_A: "A", QTYPE_AAAA: "AAAA"}


class DnsServer:
    def __init__(self, name="app.test", address="127.0.0.1", ttl=1, mode="answer"):
        self.lock = threading.Lock()
        self.name = name.lower().rstrip(".")
        self.address = address
        self.ttl = ttl
        self.mode = mode
        self.counts = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        if self.thread is not None:
            self.thread.join(2)
        self.sock.close()

    def set(self, address=None, ttl=None, mode=None):
        with self.lock:
            if address is not None:
                self.address = address
            if ttl is not None:
                self.ttl = ttl
            if mode is not None:
                self.mode = mode

    def queries(self, qtype="A"):
        with self.lock:
            return self.counts.get(qtype, 0)

    # -- wire format -------------------------------------------------------

    def _serve(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self._answer(data)
            except (ValueError, struct.error, IndexError):
                continue            # not a query we understand: drop it
            if reply is not None:
                try:
                    self.sock.sendto(reply, peer)
                except OSError:
                    pass

    @staticmethod
    def _qname(data, off):
        labels = []
        while True:
            n = data[off]
            off += 1
            if n == 0:
                return ".".join(labels).lower(), off
            if n & 0xC0:
                raise ValueError("compressed name in a question")
            labels.append(data[off:off + n].decode("ascii", "replace"))
            off += n

    def _answer(self, data):
        qid, flags, qd, _an, _ns, _ar = struct.unpack("!6H", data[:12])
        if flags & 0x8000 or qd != 1:
            raise ValueError("not a single question")
        name, off = self._qname(data, 12)
        qtype, qclass = struct.unpack("!HH", data[off:off + 4])
        question = data[12:off + 4]
        with self.lock:
            mode, address, ttl = self.mode, self.address, self.ttl
            if name == self.name:
                key = TYPE_NAMES.get(qtype, str(qtype))
                self.counts[key] = self.counts.get(key, 0) + 1
        if mode == "silent":
            return None
        rd = flags & 0x0100
        answers = b""
        rcode = 0
        if mode == "nxdomain" or name != self.name:
            rcode = 3
        elif qtype == QTYPE_A and qclass == 1:
            answers = (struct.pack("!HHHIH", 0xC00C, QTYPE_A, 1, ttl, 4)
                       + socket.inet_aton(address))
        # flags: QR, AA, RD as asked, RA; rcode
        rflags = 0x8000 | 0x0400 | rd | 0x0080 | rcode
        head = struct.pack("!6H", qid, rflags, 1, 1 if answers else 0, 0, 0)
        return head + question + answers
