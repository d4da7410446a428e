"""HJ 212-2017: the standard's CRC16 on known-good frames, parsing and its errors, the CN=9014 data response, and
the TCP listener answering a real socket client on loopback while storing the values through the checks."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from environment_builders import build_world
from sqlalchemy import Engine, func, select

from restrat.environment import hj212, service
from restrat.environment.models import MonitoringValue, Submission
from restrat.errors import InputError
from restrat.store.db import session_factory

# The example frame of the standard's appendix (CRC 1C80), and a frame written by the hj-t212-parser project's
# writer (xiaoyao9184, T212ParserTest: CRC 1dc0).
APPENDIX = "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
T212 = ("ST=32;CN=2011;PW=000000;MN=LD130133000015;CP=&&DataTime=20160824003817;011-Rtd=231.0,011-Flag=N;"
        "B01-Rtd=36.91;060-Rtd=1.803,060-Flag=N&&")


def _modbus_crc(data: bytes) -> int:
    reg = 0xFFFF
    for b in data:
        reg ^= b
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
    return reg


def test_crc16_matches_known_good_frames_and_is_not_the_modbus_crc() -> None:
    assert hj212.crc16(APPENDIX.encode()) == 0x1C80
    assert hj212.crc16(T212.encode()) == 0x1DC0
    assert _modbus_crc(APPENDIX.encode()) != 0x1C80


def test_frame_writes_length_and_crc_as_the_standard_does() -> None:
    assert hj212.frame(APPENDIX) == f"##0101{APPENDIX}1C80\r\n"
    assert hj212.frame(T212) == f"##0136{T212}1DC0\r\n"


def test_parse_reads_header_fields_and_the_data_area() -> None:
    msg = hj212.parse(f"##0136{T212}1dc0\r\n")  # lower-case hex is accepted
    assert (msg.st, msg.cn, msg.pw, msg.mn, msg.flag, msg.qn) == ("32", "2011", "000000", "LD130133000015", 0, None)
    assert msg.cp == {"011": {"Rtd": "231.0", "Flag": "N"}, "B01": {"Rtd": "36.91"}, "060": {"Rtd": "1.803",
                                                                                            "Flag": "N"}}
    assert msg.cp_fields == {"DataTime": "20160824003817"}
    assert not msg.wants_ack


@pytest.mark.parametrize(("text", "field"), [
    (f"#0101{APPENDIX}1C80\r\n", "header"),
    (f"##0100{APPENDIX}1C80\r\n", "data length"),
    (f"##01x1{APPENDIX}1C80\r\n", "data length"),
    (f"##0101{APPENDIX}1C81\r\n", "CRC"),
    (f"##0101{APPENDIX}ZZZZ\r\n", "CRC"),
])
def test_a_broken_frame_names_the_field_it_breaks(text: str, field: str) -> None:
    with pytest.raises(InputError) as e:
        hj212.parse(text)
    assert e.value.problems[0].field == field


def test_missing_header_fields_are_named() -> None:
    with pytest.raises(InputError) as e:
        hj212.parse(hj212.frame("QN=1;ST=32;CN=2011;CP=&&DataTime=20260301000000&&"))
    assert {p.field for p in e.value.problems} == {"PW", "MN"}


def test_data_response_echoes_qn_and_carries_a_valid_crc() -> None:
    msg = hj212.parse(hj212.frame("QN=20260301100000123;ST=32;CN=2061;PW=123456;MN=MN-NEW-W1;Flag=5;"
                                  "CP=&&DataTime=20260301090000;w01018-Avg=35.2,w01018-Flag=N&&"))
    reply = hj212.data_response(msg)
    parsed = hj212.parse(reply)
    assert (parsed.qn, parsed.st, parsed.cn, parsed.mn, parsed.flag) == ("20260301100000123", "91", "9014",
                                                                         "MN-NEW-W1", 4)
    assert hj212.readings(msg) == [{"mn": "MN-NEW-W1", "hj212_code": "w01018", "value": "35.2", "period": "hour",
                                    "time": "2026-03-01T09:00:00", "flag": "N"}]


@pytest.fixture
def listener(db: Engine) -> Iterator[tuple[int, hj212.ListenerStats]]:
    """The HJ 212 listener on a free loopback port, in its own event-loop thread, storing into db."""
    with session_factory(db)() as s, s.begin():
        build_world(s)
    stats = hj212.ListenerStats()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.Server] = {}

    async def start() -> None:
        holder["server"] = await hj212.serve(service.hj212_handler(engine=db), host="127.0.0.1", port=0, stats=stats)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(10)
    yield holder["server"].sockets[0].getsockname()[1], stats
    loop.call_soon_threadsafe(holder["server"].close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def _upload(qn: str, value: str, flag: int = 5, hour: str = "09") -> str:
    return hj212.frame(f"QN={qn};ST=32;CN=2061;PW=123456;MN=MN-NEW-W1;Flag={flag};"
                       f"CP=&&DataTime=20260301{hour}0000;w01018-Avg={value},w01018-Flag=N;w21003-Avg=3.1,w21003-Flag=N&&")


def test_listener_acknowledges_an_upload_and_stores_it_through_the_checks(listener: tuple, db: Engine) -> None:
    port, stats = listener
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_upload("20260301100000001", "35.2").encode())
        reply = sock.makefile("rb").readline().decode()
    ack = hj212.parse(reply)
    assert (ack.cn, ack.st, ack.qn, ack.mn) == ("9014", "91", "20260301100000001", "MN-NEW-W1")
    with session_factory(db)() as s:
        values = {v.pollutant: v.value for v in s.scalars(select(MonitoringValue))}
        channel = s.scalar(select(Submission.channel))
    assert values == {"cod": 35.2, "ammonia_nitrogen": 3.1} and channel == "hj212"
    assert (stats.received, stats.acknowledged, stats.rejected) == (1, 1, 0)


def test_listener_answers_nothing_to_a_bad_crc_or_an_unknown_logger_and_stores_nothing(listener: tuple,
                                                                                       db: Engine) -> None:
    port, stats = listener
    good = _upload("20260301100000002", "40.0")
    bad_crc = good[:-6] + ("0000" if good[-6:-2] != "0000" else "1111") + "\r\n"
    unknown = hj212.frame("QN=3;ST=32;CN=2061;PW=1;MN=NOBODY;Flag=5;CP=&&DataTime=20260301090000;w01018-Avg=1&&")
    no_ack = _upload("20260301100000004", "41.0", flag=4, hour="08")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((bad_crc + unknown + no_ack + good).encode())
        reply = sock.makefile("rb").readline().decode()
    # the only answer is to the last, well-formed upload that asked for one
    assert hj212.parse(reply).qn == "20260301100000002"
    with session_factory(db)() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 2  # no_ack and good
    assert stats.rejected == 2 and stats.acknowledged == 1
