"""HJ 212-2017, the data transmission standard of China's pollution-source online monitoring systems.

A message is `##` + the data segment's length (4 decimal digits) + the data segment + CRC16 (4 hex digits) +
CR LF. The data segment is `QN=...;ST=..;CN=....;PW=...;MN=...;Flag=.;CP=&&...&&`; inside CP, `;` separates
pollutants and `,` separates one pollutant's fields (`w01018-Avg=35.2,w01018-Flag=N`).

The CRC is the standard's own routine (its appendix): register 0xFFFF; for each byte the register becomes
(register >> 8) XOR byte, then eight right shifts, XOR 0xA001 whenever the bit shifted out is 1. This is *not*
the Modbus CRC16 (which XORs the byte into the low byte without first dropping the high one) although both use
0xA001; the standard's example frame `QN=20160801085857223;ST=32;CN=1062;...;CP=&&RtdInterval=30&&` has 1C80.

Data uploads (CN 2011 real time, 2051 minute, 2061 hour, 2031 day) with the acknowledgement bit A (Flag bit 0)
set are answered with a data response, CN=9014 on ST=91, echoing QN. A frame with a wrong length or CRC is not
answered, so the logger sends it again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from restrat.errors import InputError, Problem

HEADER = "##"
FOOTER = "\r\n"
MAX_DATA_LENGTH = 1024  # the standard limits a data segment to 0..1024 characters
# CN of data uploads -> (the value field that becomes a record, the period the value stands for)
DATA_COMMANDS = {"2011": ("Rtd", "minute"), "2051": ("Avg", "minute"), "2061": ("Avg", "hour"),
                 "2031": ("Avg", "day")}
CN_DATA_RESPONSE = "9014"
ST_SYSTEM = "91"
FLAG_ACK = 0x01  # A: the sender wants a response
FLAG_VERSION_2017 = 0x04  # protocol version bits V5..V0 = 000001, shifted past D and A
_FIELD = re.compile(r"^([A-Za-z0-9]+)-([A-Za-z]+)$")


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

    @property
    def wants_ack(self) -> bool:
        return bool(self.flag & FLAG_ACK)

    def data_time(self) -> dt.datetime:
        """DataTime of the CP area (YYYYMMDDhhmmss, optionally with milliseconds), as a naive local time."""
        raw = self.cp_fields.get("DataTime")
        if not raw or not raw.isdigit() or len(raw) not in (14, 17):
            raise InputError(Problem(field="CP.DataTime", rule="must be YYYYMMDDhhmmss[zzz]", value=raw))
        return dt.datetime.strptime(raw[:14], "%Y%m%d%H%M%S")


def parse(text: str) -> Message:
    """Parse one message; checks header, length, CRC and the mandatory fields, naming the broken rule."""
    msg = text[:-2] if text.endswith(FOOTER) else text.rstrip("\r\n")
    if not msg.startswith(HEADER):
        raise InputError(Problem(field="header", rule="a message starts with '##'", value=msg[:2]))
    length_text = msg[2:6]
    if len(length_text) != 4 or not length_text.isdigit():
        raise InputError(Problem(field="data length", rule="4 decimal digits after '##'", value=length_text))
    length = int(length_text)
    body = msg[6:]
    segment, crc_text = body[:-4], body[-4:]
    if len(segment.encode("ascii", "replace")) != length:
        raise InputError(Problem(field="data length", rule=f"says {length} but the data segment has "
                                                           f"{len(segment.encode('ascii', 'replace'))} characters",
                                 value=length_text))
    try:
        expected = int(crc_text, 16)
    except ValueError:
        raise InputError(Problem(field="CRC", rule="4 hexadecimal digits before CR LF", value=crc_text)) from None
    actual = crc16(segment.encode("ascii", "replace"))
    if actual != expected:
        raise InputError(Problem(field="CRC", rule=f"does not match the data segment (computed {actual:04X})",
                                 value=crc_text))
    return parse_segment(segment)


def parse_segment(segment: str) -> Message:
    """Parse a data segment (without header, length and CRC)."""
    head, sep, rest = segment.partition("CP=&&")
    if not sep or not rest.endswith("&&"):
        raise InputError(Problem(field="CP", rule="the data area is written CP=&&...&&", value=segment[-20:]))
    fields = dict(part.split("=", 1) for part in head.split(";") if "=" in part)
    missing = [k for k in ("ST", "CN", "PW", "MN") if not fields.get(k)]
    if missing:
        raise InputError([Problem(field=k, rule="is required in the header of the data segment") for k in missing])
    flag_text = fields.get("Flag", "0")
    if not flag_text.isdigit():
        raise InputError(Problem(field="Flag", rule="must be a decimal number", value=flag_text))
    msg = Message(qn=fields.get("QN"), st=fields["ST"], cn=fields["CN"], pw=fields["PW"], mn=fields["MN"],
                  flag=int(flag_text))
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


def data_response(msg: Message) -> str:
    """The framed CN=9014 data response to an upload: echoes QN, PW and MN; asks for no further answer."""
    qn = f"QN={msg.qn};" if msg.qn else ""
    return frame(f"{qn}ST={ST_SYSTEM};CN={CN_DATA_RESPONSE};PW={msg.pw};MN={msg.mn};Flag={FLAG_VERSION_2017};"
                 "CP=&&&&")


def readings(msg: Message) -> list[dict[str, str]]:
    """The values of a data upload, one dict per pollutant: code, value, the period it stands for, data flag."""
    if msg.cn not in DATA_COMMANDS:
        return []
    value_field, period = DATA_COMMANDS[msg.cn]
    at = msg.data_time().isoformat()
    return [{"mn": msg.mn, "hj212_code": code, "value": parts[value_field], "period": period, "time": at,
             "flag": parts.get("Flag", "N")}
            for code, parts in msg.cp.items() if value_field in parts]


@dataclass
class ListenerStats:
    received: int = 0
    acknowledged: int = 0
    rejected: int = 0
    last_error: str | None = None


Handler = Callable[[Message], Awaitable[None]]


async def serve(handler: Handler, *, host: str = "127.0.0.1", port: int = 0,
                stats: ListenerStats | None = None) -> asyncio.Server:
    """Start a TCP listener for data loggers: every well-formed message goes to handler; uploads asking for
    it are acknowledged with CN=9014 once the handler has stored them. Malformed messages are counted, not
    answered. Returns the running server (its sockets give the bound port)."""
    stats = stats if stats is not None else ListenerStats()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\r\n")
                except asyncio.LimitOverrunError:
                    stats.rejected += 1
                    stats.last_error = "message longer than the stream limit"
                    break
                except asyncio.IncompleteReadError:
                    break
                stats.received += 1
                try:
                    msg = parse(line.decode("ascii", "replace"))
                    await handler(msg)
                except InputError as e:
                    stats.rejected += 1
                    stats.last_error = str(e)
                    continue
                if msg.wants_ack and msg.cn in DATA_COMMANDS:
                    writer.write(data_response(msg).encode("ascii"))
                    await writer.drain()
                    stats.acknowledged += 1
        finally:
            writer.close()

    return await asyncio.start_server(connection, host=host, port=port, limit=MAX_DATA_LENGTH + 64)
