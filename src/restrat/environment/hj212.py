"""HJ 212-2017, the data transmission standard of China's pollution-source online monitoring systems.

A message is `##` + the data segment's length (4 decimal digits) + the data segment + CRC16 (4 hex digits) +
CR LF. The data segment is `QN=...;ST=..;CN=....;PW=...;MN=...;Flag=.;CP=&&...&&`; inside CP, `;` separates
pollutants and `,` separates one pollutant's fields (`w01018-Avg=35.2,w01018-Flag=N`).

The CRC is the standard's own routine (its appendix): register 0xFFFF; for each byte the register becomes
(register >> 8) XOR byte, then eight right shifts, XOR 0xA001 whenever the bit shifted out is 1. This is *not*
the Modbus CRC16 (which XORs the byte into the low byte without first dropping the high one) although both use
0xA001; the standard's example frame `QN=20160801085857223;ST=32;CN=1062;...;CP=&&RtdInterval=30&&` has 1C80.

Flag bits (low to high): A (bit 0, the sender wants an answer), D (bit 1, the message is one packet of several and
carries PNUM/PNO), then the protocol version V0..V5 (000001 for HJ 212-2017, so a 2017 message without answer is
Flag=4 and with one Flag=5). Answers: 9011 request answer (CP QnRtn), 9012 execution result (CP ExeRtn), 9013
notification answer, 9014 data response; all on ST=91 and echoing the QN of the message answered. The command
table (which CN is an upload, a notification, a request or an answer) is data: `data/hj212_commands.csv`.

The listener (`serve`) frames the TCP stream itself (several messages in one read, one message over several
reads), checks each logger's access password (PW) against the platform's registered secret for its MN, stores
uploads through the caller's `store`, and answers as described in docs/environment.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from restrat.errors import InputError, Problem

log = logging.getLogger("restrat.environment.hj212")

HEADER = "##"
FOOTER = "\r\n"
MAX_DATA_LENGTH = 1024  # the standard limits a data segment to 0..1024 characters
MAX_FRAME = 6 + MAX_DATA_LENGTH + 4 + 2
ST_SYSTEM = "91"  # system interaction: every answer
CN_REQUEST_ANSWER, CN_EXECUTION_RESULT, CN_NOTIFICATION_ANSWER, CN_DATA_RESPONSE = "9011", "9012", "9013", "9014"
CN_SET_TIME = "1012"
FLAG_ACK = 0x01  # A: the sender wants an answer
FLAG_PACKETS = 0x02  # D: one packet of a split message, with PNUM and PNO
FLAG_VERSION_2017 = 0x04  # protocol version bits V5..V0 = 000001, shifted past D and A
VERSIONS = {0: "HJ/T 212-2005", 1: "HJ 212-2017"}  # version bits accepted
# QnRtn of a 9011 request answer, and the header field whose error each code reports
QN_RTN = {1: "ready to execute the request", 2: "request refused", 3: "PW error", 4: "MN error", 5: "ST error",
          6: "Flag error", 7: "QN error", 8: "CN error", 9: "CRC error", 100: "unknown error"}
QN_RTN_OF_FIELD = {"PW": 3, "MN": 4, "ST": 5, "Flag": 6, "QN": 7, "CN": 8, "CRC": 9}
# ExeRtn of a 9012 execution result (recalled; the platform receives these from loggers, it executes nothing)
EXE_RTN = {1: "executed", 2: "failed, reason unknown", 3: "the request's conditions were wrong", 4: "communication "
           "timed out", 5: "system busy", 6: "system fault", 100: "no data"}
# ST (system code) of the pollution sources whose uploads name a medium; an upload's ST must match its outlet
ST_MEDIUM = {"31": "air", "32": "water"}
DATA = Path(str(resources.files("restrat.environment") / "data"))
_FIELD = re.compile(r"^([A-Za-z0-9]+)-([A-Za-z]+)$")


@cache
def commands() -> pd.DataFrame:
    """The HJ 212 command table: cn, kind (upload/status/notification/request/answer), name, value_field, period."""
    return pd.read_csv(DATA / "hj212_commands.csv", dtype=str, keep_default_na=False).set_index("cn")


def kind_of(cn: str) -> str:
    """upload, status, notification, request, answer, or unknown."""
    table = commands()
    return str(table.kind[cn]) if cn in table.index else "unknown"


def crc16(data: bytes) -> int:
    """The CRC16 of HJ 212-2017 (appendix routine) over data."""
    reg = 0xFFFF
    for byte in data:
        reg = (reg >> 8) ^ byte
        for _ in range(8):
            carry = reg & 1
            reg >>= 1
            if carry:
                reg ^= 0xA001
    return reg


def frame(segment: str) -> str:
    """Wrap a data segment into a full message: header, length, segment, CRC, CR LF."""
    raw = segment.encode("ascii")
    if len(raw) > MAX_DATA_LENGTH:
        raise InputError(Problem(field="data segment", rule=f"longer than {MAX_DATA_LENGTH} characters",
                                 value=len(raw)))
    return f"{HEADER}{len(raw):04d}{segment}{crc16(raw):04X}{FOOTER}"


def new_qn(now: dt.datetime) -> str:
    """A request number: the time to the millisecond, YYYYMMDDhhmmsszzz."""
    return now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"


@dataclass
class Message:
    """A parsed HJ 212 message: the header fields and the CP data area."""

    qn: str | None
    st: str
    cn: str
    pw: str
    mn: str
    flag: int
    cp: dict[str, dict[str, str]] = field(default_factory=dict)  # pollutant code -> {Rtd/Avg/Flag/...: value}
    cp_fields: dict[str, str] = field(default_factory=dict)  # plain CP fields (DataTime, BeginTime, ...)
    pnum: int | None = None  # packets of a split message (Flag D)
    pno: int | None = None

    @property
    def wants_ack(self) -> bool:
        return bool(self.flag & FLAG_ACK)

    @property
    def version(self) -> str:
        return VERSIONS.get(self.flag >> 2, f"version bits {self.flag >> 2:06b}")

    def data_time(self) -> dt.datetime:
        """DataTime of the CP area (YYYYMMDDhhmmss, optionally with milliseconds), as a naive local time."""
        raw = self.cp_fields.get("DataTime")
        if not raw or not raw.isdigit() or len(raw) not in (14, 17):
            raise InputError(Problem(field="CP.DataTime", rule="must be YYYYMMDDhhmmss[zzz]", value=raw))
        try:
            return dt.datetime.strptime(raw[:14], "%Y%m%d%H%M%S")
        except ValueError:
            raise InputError(Problem(field="CP.DataTime", rule="is not a calendar time", value=raw)) from None


def _bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8")


def parse(data: str | bytes) -> Message:
    """Parse one message; checks header, length, CRC and the header fields, naming the broken rule."""
    raw = _bytes(data)
    msg = raw[:-2] if raw.endswith(b"\r\n") else raw.rstrip(b"\r\n")
    if not msg.startswith(b"##"):
        raise InputError(Problem(field="header", rule="a message starts with '##'", value=msg[:2].decode("latin-1")))
    length_text = msg[2:6].decode("latin-1")
    if len(length_text) != 4 or not length_text.isdigit():
        raise InputError(Problem(field="data length", rule="4 decimal digits after '##'", value=length_text))
    length = int(length_text)
    if length > MAX_DATA_LENGTH:
        raise InputError(Problem(field="data length", rule=f"at most {MAX_DATA_LENGTH}", value=length_text))
    body = msg[6:]
    segment, crc_raw = body[:-4], body[-4:]
    if len(segment) != length:
        raise InputError(Problem(field="data length", rule=f"says {length} but the data segment has {len(segment)} "
                                                           "bytes", value=length_text))
    crc_text = crc_raw.decode("latin-1")
    try:
        expected = int(crc_text, 16)
    except ValueError:
        raise InputError(Problem(field="CRC", rule="4 hexadecimal digits before CR LF", value=crc_text)) from None
    actual = crc16(segment)
    if actual != expected:
        raise InputError(Problem(field="CRC", rule=f"does not match the data segment (computed {actual:04X})",
                                 value=crc_text))
    return parse_segment(segment.decode("utf-8", "replace"))


def _header_fields(head: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in head.split(";") if "=" in part)


def parse_segment(segment: str) -> Message:
    """Parse a data segment (without header, length and CRC), checking the header fields."""
    head, sep, rest = segment.partition("CP=&&")
    if not sep or not rest.endswith("&&"):
        raise InputError(Problem(field="CP", rule="the data area is written CP=&&...&&", value=segment[-20:]))
    fields = _header_fields(head)
    missing = [k for k in ("ST", "CN", "PW", "MN") if not fields.get(k)]
    if missing:
        raise InputError([Problem(field=k, rule="is required in the header of the data segment") for k in missing])
    problems = []
    if not re.fullmatch(r"\d{2}", fields["ST"]):
        problems.append(Problem(field="ST", rule="2 decimal digits", value=fields["ST"]))
    if not re.fullmatch(r"\d{4}", fields["CN"]):
        problems.append(Problem(field="CN", rule="4 decimal digits", value=fields["CN"]))
    if len(fields["PW"]) > 9:
        problems.append(Problem(field="PW", rule="at most 9 characters", value=len(fields["PW"])))
    if len(fields["MN"]) > 24:
        problems.append(Problem(field="MN", rule="at most 24 characters", value=fields["MN"]))
    qn = fields.get("QN")
    if qn is not None and not _valid_qn(qn):
        problems.append(Problem(field="QN", rule="a request number is the time YYYYMMDDhhmmsszzz", value=qn))
    flag_text = fields.get("Flag", "0")
    flag = int(flag_text) if flag_text.isdigit() else -1
    if flag < 0 or flag > 255:
        problems.append(Problem(field="Flag", rule="a decimal number 0..255", value=flag_text))
    elif flag >> 2 not in VERSIONS:
        problems.append(Problem(field="Flag", rule="protocol version bits must be 000001 (HJ 212-2017) or 000000",
                                value=flag_text))
    pnum = pno = None
    if flag > 0 and flag & FLAG_PACKETS:
        pnum_t, pno_t = fields.get("PNUM", ""), fields.get("PNO", "")
        if not (pnum_t.isdigit() and pno_t.isdigit() and 1 <= int(pno_t) <= int(pnum_t)):
            problems.append(Problem(field="Flag", rule="D set: PNUM and PNO must give the packet as n of N",
                                    value=f"PNUM={pnum_t};PNO={pno_t}"))
        else:
            pnum, pno = int(pnum_t), int(pno_t)
    if problems:
        raise InputError(problems)
    msg = Message(qn=qn, st=fields["ST"], cn=fields["CN"], pw=fields["PW"], mn=fields["MN"], flag=flag,
                  pnum=pnum, pno=pno)
    for group in rest[:-2].split(";"):
        for item in group.split(","):
            if "=" not in item:
                continue
            key, value = item.split("=", 1)
            m = _FIELD.match(key.strip())
            if m:
                msg.cp.setdefault(m.group(1), {})[m.group(2)] = value.strip()
            else:
                msg.cp_fields[key.strip()] = value.strip()
    return msg


def _valid_qn(qn: str) -> bool:
    if len(qn) != 17 or not qn.isdigit():
        return False
    try:
        dt.datetime.strptime(qn[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


def peek_header(data: bytes) -> dict[str, str]:
    """The header fields (QN, ST, CN, PW, MN, Flag) readable in a damaged message, best effort, for answering it."""
    start = data.find(b"##")
    text = data[start + 6 if start >= 0 else 0:].decode("ascii", "replace")
    head = text.split("CP=", 1)[0]
    return {k: v for k, v in _header_fields(head).items() if k in ("QN", "ST", "CN", "PW", "MN", "Flag")
            and re.fullmatch(r"[A-Za-z0-9_.\-]{1,24}", v)}


def _answer(*, qn: str | None, mn: str, pw: str, cn: str, cp: str = "") -> str:
    q = f"QN={qn};" if qn else ""
    return frame(f"{q}ST={ST_SYSTEM};CN={cn};PW={pw};MN={mn};Flag={FLAG_VERSION_2017};CP=&&{cp}&&")


def data_response(msg: Message) -> str:
    """The framed CN=9014 data response to an upload: echoes QN, PW and MN; asks for no further answer."""
    return _answer(qn=msg.qn, mn=msg.mn, pw=msg.pw, cn=CN_DATA_RESPONSE)


def request_answer(*, qn: str | None, mn: str, pw: str, qn_rtn: int) -> str:
    """The framed CN=9011 request answer with QnRtn (1 ready, 2 refused, 3 PW, 4 MN, ... 9 CRC, 100 unknown)."""
    return _answer(qn=qn, mn=mn, pw=pw, cn=CN_REQUEST_ANSWER, cp=f"QnRtn={qn_rtn}")


def execution_result(*, qn: str | None, mn: str, pw: str, exe_rtn: int) -> str:
    """The framed CN=9012 execution result with ExeRtn."""
    return _answer(qn=qn, mn=mn, pw=pw, cn=CN_EXECUTION_RESULT, cp=f"ExeRtn={exe_rtn}")


def notification_answer(msg: Message) -> str:
    """The framed CN=9013 notification answer, echoing QN."""
    return _answer(qn=msg.qn, mn=msg.mn, pw=msg.pw, cn=CN_NOTIFICATION_ANSWER)


def set_time_request(*, mn: str, pw: str, st: str, now: dt.datetime) -> str:
    """The platform's CN=1012 request setting a logger's clock to now (SystemTime), asking for an answer."""
    return frame(f"QN={new_qn(now)};ST={st};CN={CN_SET_TIME};PW={pw};MN={mn};Flag={FLAG_VERSION_2017 | FLAG_ACK};"
                 f"CP=&&SystemTime={now.strftime('%Y%m%d%H%M%S')}&&")


def readings(msg: Message) -> list[dict[str, str]]:
    """The values of a data upload, one dict per pollutant: code, value, the period it stands for, data flag."""
    table = commands()
    if msg.cn not in table.index or table.kind[msg.cn] != "upload":
        return []
    value_field, period = str(table.value_field[msg.cn]), str(table.period[msg.cn])
    at = msg.data_time().isoformat()
    return [{"mn": msg.mn, "hj212_code": code, "value": parts[value_field], "period": period, "time": at,
             "flag": parts.get("Flag", "N")}
            for code, parts in msg.cp.items() if value_field in parts]


# ---- stream framing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One message cut from the stream (checked by parse), or bytes that cannot be one (problem set)."""

    raw: bytes
    problem: Problem | None = None


class FrameReader:
    """Cuts a TCP byte stream into messages: `##`, 4-digit length, segment, CRC, CR LF. Bytes may arrive in any
    pieces; a message is cut at its CR LF (which cannot occur inside a valid message) and parse then holds the
    length and CRC against it. A new `##` before the CR LF means the message was cut short; bytes outside any
    message and a message longer than the standard allows are reported, and reading resumes at the next `##`."""

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every message completed by them, in order."""
        buf = self._buf
        buf += data
        out: list[Frame] = []
        while buf:
            start = buf.find(b"##")
            if start != 0:
                cut = len(buf) - (1 if buf.endswith(b"#") else 0) if start < 0 else start
                junk = bytes(buf[:cut])
                del buf[:cut]
                if junk.strip():
                    out.append(Frame(junk, Problem(field="header", rule="bytes outside a message (a message "
                                                                        "starts with '##')", value=junk[:20])))
                if start < 0:
                    break
                continue
            end = buf.find(b"\r\n")
            again = buf.find(b"##", 2)
            if again >= 0 and (end < 0 or again < end):
                out.append(Frame(bytes(buf[:again]), Problem(field="data length", rule="message cut short: a new "
                                                                                       "'##' began before its CR LF")))
                del buf[:again]
                continue
            if end < 0:
                if len(buf) > MAX_FRAME:
                    out.append(Frame(bytes(buf[:40]), Problem(field="data length", rule=f"no CR LF within "
                                                                                       f"{MAX_FRAME} bytes")))
                    del buf[:2]
                    continue
                break
            out.append(Frame(bytes(buf[:end + 2])))
            del buf[:end + 2]
        return out


# ---- the listener --------------------------------------------------------------------------------------------


@dataclass
class ListenerStats:
    received: int = 0  # messages (well-formed or not)
    stored: int = 0  # uploads stored
    acknowledged: int = 0  # 9014 data responses sent
    answered: int = 0  # every answer sent (9011/9013/9014 and 1012 requests)
    rejected: int = 0  # malformed messages
    refused: int = 0  # well-formed messages refused (access password, MN, content)
    errors: int = 0  # the platform failed (nothing answered; the logger sends again)
    closed_for_auth: int = 0  # connections closed after too many refused passwords
    last_error: str | None = None


@dataclass(frozen=True)
class ListenerEvent:
    """Something worth keeping from a logger conversation: outcome, the peer and the message's header."""

    outcome: str  # malformed / refused_pw / unknown_mn / refused / error / status / notification / answer / closed
    peer: str
    detail: str
    mn: str | None = None
    qn: str | None = None
    cn: str | None = None
    cp: dict[str, Any] | None = None


Access = str  # "ok", "unknown_mn" (no logger registered), "wrong_pw"


@dataclass
class Platform:
    """What the listener needs from the platform: store an upload (InputError: refused, naming the rule; a field
    of ST refuses with QnRtn 5), check a logger's access password, keep an event, and the clock."""

    store: Callable[[Message], Awaitable[None]]
    authenticate: Callable[[str, str], Awaitable[Access]]
    record: Callable[[ListenerEvent], Awaitable[None]] | None = None
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
                                           .replace(tzinfo=None))


class _Connection:
    """One logger connection: frames its stream, remembers the passwords already verified on it."""

    def __init__(self, platform: Platform, stats: ListenerStats, peer: str, max_auth_failures: int) -> None:
        self.platform, self.stats, self.peer = platform, stats, peer
        self.verified: dict[str, str] = {}  # MN -> PW verified on this connection
        self.auth_failures = 0
        self.max_auth_failures = max_auth_failures
        self.reader = FrameReader()

    async def event(self, outcome: str, detail: str, *, head: dict[str, str] | None = None,
                    msg: Message | None = None, cp: dict[str, Any] | None = None) -> None:
        mn = msg.mn if msg else (head or {}).get("MN")
        qn = msg.qn if msg else (head or {}).get("QN")
        cn = msg.cn if msg else (head or {}).get("CN")
        log.info("HJ 212 %s from %s MN=%s QN=%s CN=%s: %s", outcome, self.peer, mn, qn, cn, detail)
        if self.platform.record is not None:
            try:
                await self.platform.record(ListenerEvent(outcome=outcome, peer=self.peer, detail=detail, mn=mn, qn=qn,
                                                         cn=cn, cp=cp))
            except Exception as e:  # the log must not stop the conversation
                log.exception("HJ 212 event not recorded")
                self.stats.last_error = f"event not recorded: {e}"

    def refuse(self, *, qn: str | None, mn: str, pw: str, qn_rtn: int) -> list[bytes]:
        self.stats.answered += 1
        return [request_answer(qn=qn, mn=mn, pw=pw, qn_rtn=qn_rtn).encode("ascii")]

    async def answer(self, item: Frame) -> tuple[list[bytes], bool]:
        """The answers to one framed message, and whether to close the connection after sending them."""
        self.stats.received += 1
        problem = item.problem
        msg = None
        if problem is None:
            try:
                msg = parse(item.raw)
            except InputError as e:
                problem = e.problems[0]
        if msg is None:
            assert problem is not None
            self.stats.rejected += 1
            self.stats.last_error = str(problem)
            head = peek_header(item.raw)
            await self.event("malformed", str(problem), head=head)
            if head.get("MN") and head.get("PW"):  # addressable: say what was wrong
                qn = head.get("QN") if head.get("QN") and _valid_qn(head["QN"]) else None
                return self.refuse(qn=qn, mn=head["MN"], pw=head["PW"],
                                   qn_rtn=QN_RTN_OF_FIELD.get(problem.field, 100)), False
            return [], False
        if msg.cn in (CN_REQUEST_ANSWER, CN_EXECUTION_RESULT, CN_NOTIFICATION_ANSWER, CN_DATA_RESPONSE):
            if self.verified.get(msg.mn) == msg.pw:  # answers are never answered; kept when from a known logger
                await self.event("answer", f"{commands().name[msg.cn]}: {msg.cp_fields}", msg=msg, cp=msg.cp_fields)
            return [], False
        if self.verified.get(msg.mn) != msg.pw:
            access = await self.platform.authenticate(msg.mn, msg.pw)
            if access != "ok":
                self.stats.refused += 1
                self.auth_failures += 1
                code = 3 if access == "wrong_pw" else 4
                outcome = "refused_pw" if access == "wrong_pw" else "unknown_mn"
                close = self.auth_failures >= self.max_auth_failures
                await self.event(outcome, QN_RTN[code] + (f"; connection closed after {self.auth_failures} refusals"
                                                          if close else ""), msg=msg)
                if close:
                    self.stats.closed_for_auth += 1
                return self.refuse(qn=msg.qn, mn=msg.mn, pw=msg.pw, qn_rtn=code), close
            self.verified[msg.mn] = msg.pw
        kind = kind_of(msg.cn)
        if kind == "upload":
            return await self._upload(msg), False
        if kind == "status":
            await self.event("status", str(commands().name[msg.cn]), msg=msg,
                             cp={"fields": msg.cp_fields, "values": msg.cp})
            return self._ack(msg), False
        if kind == "notification":
            await self.event("notification", str(commands().name[msg.cn]), msg=msg)
            out = []
            if msg.wants_ack:
                out.append(notification_answer(msg).encode("ascii"))
                self.stats.answered += 1
            if msg.cn == "1013":  # time calibration request: set the logger's clock
                out.append(set_time_request(mn=msg.mn, pw=msg.pw, st=msg.st, now=self.platform.now()).encode("ascii"))
                self.stats.answered += 1
            return out, False
        self.stats.refused += 1
        code = 2 if kind == "request" else 8
        await self.event("refused", f"{QN_RTN[code]}: CN {msg.cn} is "
                                    f"{'a platform-to-logger request' if kind == 'request' else 'not known'}", msg=msg)
        return self.refuse(qn=msg.qn, mn=msg.mn, pw=msg.pw, qn_rtn=code), False

    def _ack(self, msg: Message) -> list[bytes]:
        if not msg.wants_ack:
            return []
        self.stats.acknowledged += 1
        self.stats.answered += 1
        return [data_response(msg).encode("ascii")]

    async def _upload(self, msg: Message) -> list[bytes]:
        try:
            await self.platform.store(msg)
        except InputError as e:
            self.stats.refused += 1
            self.stats.last_error = str(e)
            code = 5 if any(p.field == "ST" for p in e.problems) else 2
            await self.event("refused", "; ".join(e.lines(limit=10)), msg=msg)
            return self.refuse(qn=msg.qn, mn=msg.mn, pw=msg.pw, qn_rtn=code)
        except Exception as e:  # the platform failed: no answer, so the logger sends the message again
            self.stats.errors += 1
            self.stats.last_error = f"{type(e).__name__}: {e}"
            log.exception("HJ 212 upload not stored")
            await self.event("error", f"not stored ({type(e).__name__}: {e}); not answered, the logger sends again",
                             msg=msg)
            return []
        self.stats.stored += 1
        return self._ack(msg)


async def serve(platform: Platform, *, host: str = "127.0.0.1", port: int = 0, stats: ListenerStats | None = None,
                max_auth_failures: int = 3, idle_timeout: float | None = None) -> asyncio.Server:
    """Start a TCP listener for data loggers. Each connection stays open across messages; its stream is framed
    (split and joined messages), each message checked, its logger's access password verified once per
    connection, uploads stored and answers sent as HJ 212-2017 prescribes (docs/environment.md). A connection is
    closed after max_auth_failures refused passwords or MNs, or after idle_timeout seconds without data. Returns
    the running server (its sockets give the bound port)."""
    stats = stats if stats is not None else ListenerStats()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        conn = _Connection(platform, stats, peer, max_auth_failures)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(4096), timeout=idle_timeout)
                except TimeoutError:
                    await conn.event("closed", f"no data for {idle_timeout} s")
                    break
                if not data:
                    break
                close = False
                for item in conn.reader.feed(data):
                    replies, close = await conn.answer(item)
                    for r in replies:
                        writer.write(r)
                    await writer.drain()
                    if close:
                        break
                if close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # the server shuts down: end this connection quietly (the task is ours)
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    return await asyncio.start_server(connection, host=host, port=port)
