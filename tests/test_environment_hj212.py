"""HJ 212-2017: the standard's CRC16 on known-good frames, parsing and its errors, framing of a TCP stream, the
answers (9011/9013/9014, 1012) and the TCP listener answering a real socket client on loopback: access passwords
checked against their hash, values stored through the checks, split and joined packets, malformed input."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from environment_builders import build_world
from sqlalchemy import Engine, func, select

from restrat.environment import hj212, service
from restrat.environment.models import DataLogger, LoggerEvent, MonitoringValue, Submission
from restrat.errors import InputError
from restrat.store.db import session_factory

# The example frame of the standard's appendix (CRC 1C80), and a frame written by the hj-t212-parser project's
# writer (xiaoyao9184, T212ParserTest: CRC 1dc0).
APPENDIX = "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
T212 = ("ST=32;CN=2011;PW=000000;MN=LD130133000015;CP=&&DataTime=20160824003817;011-Rtd=231.0,011-Flag=N;"
        "B01-Rtd=36.91;060-Rtd=1.803,060-Flag=N&&")
PW = "s3cret-1"


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
    assert not msg.wants_ack and msg.version == "HJ/T 212-2005"
    assert hj212.parse(hj212.frame(APPENDIX)).version == "HJ 212-2017"


@pytest.mark.parametrize(("text", "field"), [
    (f"#0101{APPENDIX}1C80\r\n", "header"),
    (f"##0100{APPENDIX}1C80\r\n", "data length"),
    (f"##01x1{APPENDIX}1C80\r\n", "data length"),
    (f"##0101{APPENDIX}1C81\r\n", "CRC"),
    (f"##0101{APPENDIX}ZZZZ\r\n", "CRC"),
    (hj212.frame(APPENDIX.replace("QN=20160801085857223", "QN=2016")), "QN"),
    (hj212.frame(APPENDIX.replace("Flag=5", "Flag=9")), "Flag"),  # version bits 000010
    (hj212.frame(APPENDIX.replace("Flag=5", "Flag=7")), "Flag"),  # D set without PNUM/PNO
    (hj212.frame(APPENDIX.replace("ST=32", "ST=3X")), "ST"),
    (hj212.frame(APPENDIX.replace("CN=1062", "CN=10")), "CN"),
])
def test_a_broken_frame_names_the_field_it_breaks(text: str, field: str) -> None:
    with pytest.raises(InputError) as e:
        hj212.parse(text)
    assert e.value.problems[0].field == field


def test_a_split_message_carries_its_packet_number() -> None:
    msg = hj212.parse(hj212.frame(APPENDIX.replace("Flag=5", "Flag=7;PNUM=3;PNO=2")))
    assert (msg.pnum, msg.pno, msg.wants_ack) == (3, 2, True)


def test_missing_header_fields_are_named() -> None:
    with pytest.raises(InputError) as e:
        hj212.parse(hj212.frame("QN=20260301000000000;ST=32;CN=2011;CP=&&DataTime=20260301000000&&"))
    assert {p.field for p in e.value.problems} == {"PW", "MN"}


def test_answers_echo_qn_and_carry_a_valid_crc() -> None:
    msg = hj212.parse(hj212.frame("QN=20260301100000123;ST=32;CN=2061;PW=123456;MN=MN-NEW-W1;Flag=5;"
                                  "CP=&&DataTime=20260301090000;w01018-Avg=35.2,w01018-Flag=N&&"))
    parsed = hj212.parse(hj212.data_response(msg))
    assert (parsed.qn, parsed.st, parsed.cn, parsed.mn, parsed.flag) == ("20260301100000123", "91", "9014",
                                                                         "MN-NEW-W1", 4)
    refused = hj212.parse(hj212.request_answer(qn=msg.qn, mn=msg.mn, pw=msg.pw, qn_rtn=3))
    assert (refused.cn, refused.qn, refused.cp_fields) == ("9011", "20260301100000123", {"QnRtn": "3"})
    assert hj212.parse(hj212.notification_answer(msg)).cn == "9013"
    assert hj212.parse(hj212.execution_result(qn=msg.qn, mn=msg.mn, pw=msg.pw, exe_rtn=1)).cp_fields == {
        "ExeRtn": "1"}
    assert hj212.readings(msg) == [{"mn": "MN-NEW-W1", "hj212_code": "w01018", "value": "35.2", "period": "hour",
                                    "time": "2026-03-01T09:00:00", "flag": "N"}]


def test_command_table_sorts_uploads_status_notifications_requests_and_answers() -> None:
    assert [hj212.kind_of(cn) for cn in ("2011", "2051", "2061", "2031", "2021", "1013", "1012", "9014", "4711")] == [
        "upload", "upload", "upload", "upload", "status", "notification", "request", "answer", "unknown"]


# ---- framing -------------------------------------------------------------------------------------------------


def _msg(qn: str, value: str = "35.2", *, flag: int = 5, hour: str = "09", pw: str = PW, mn: str = "MN-NEW-W1",
         cn: str = "2061", st: str = "32") -> str:
    return hj212.frame(f"QN={qn};ST={st};CN={cn};PW={pw};MN={mn};Flag={flag};CP=&&DataTime=20260301{hour}0000;"
                       f"w01018-Avg={value},w01018-Flag=N;w21003-Avg=3.1,w21003-Flag=N&&")


def test_frame_reader_cuts_joined_and_split_messages() -> None:
    a, b = _msg("20260301100000001").encode(), _msg("20260301100000002", hour="10").encode()
    reader = hj212.FrameReader()
    got = reader.feed(a + b)
    assert [f.raw for f in got] == [a, b] and all(f.problem is None for f in got)
    pieces = [a[:1], a[1:5], a[5:-1], a[-1:]]
    got = [f for p in pieces for f in reader.feed(p)]
    assert [f.raw for f in got] == [a] and reader.pending == 0


def test_frame_reader_reports_junk_and_cut_messages_and_resumes_at_the_next_header() -> None:
    a = _msg("20260301100000001").encode()
    reader = hj212.FrameReader()
    got = reader.feed(b"hello\r\n" + a[:40] + a + b"\r\n")
    assert [f.problem.field if f.problem else None for f in got] == ["header", "data length", None]
    assert got[2].raw == a and hj212.parse(got[2].raw).qn == "20260301100000001"
    endless = reader.feed(b"##0100" + b"x" * (hj212.MAX_FRAME + 10))
    assert endless and endless[0].problem is not None and reader.pending < hj212.MAX_FRAME


# ---- the listener on loopback --------------------------------------------------------------------------------


@pytest.fixture
def listener(db: Engine) -> Iterator[tuple[int, hj212.ListenerStats]]:
    """The HJ 212 listener on a free loopback port, in its own event-loop thread, storing into db; the logger
    MN-NEW-W1 (water outlet) has the access password PW."""
    with session_factory(db)() as s, s.begin():
        build_world(s)
        service.register_logger(session=s, mn="MN-NEW-W1", password=PW, username="test")
    stats = hj212.ListenerStats()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.Server] = {}
    platform = service.hj212_platform(engine=db)
    platform.now = lambda: dt.datetime(2026, 3, 1, 12, 0, 0, 123000)

    async def start() -> None:
        holder["server"] = await hj212.serve(platform, host="127.0.0.1", port=0, stats=stats)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(10)
    yield holder["server"].sockets[0].getsockname()[1], stats

    async def stop() -> None:  # close the server and end every open connection before the loop stops
        holder["server"].close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


class Client:
    """A data logger's side of the socket: send bytes, read framed answers."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def send(self, data: str | bytes) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def answer(self) -> hj212.Message:
        line = self.file.readline()
        assert line, "the listener closed the connection"
        return hj212.parse(line)

    def closed(self) -> bool:
        return self.file.readline() == b""

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def client(listener: tuple[int, hj212.ListenerStats]) -> Iterator[Client]:
    c = Client(listener[0])
    yield c
    c.close()


def _values(db: Engine) -> dict[tuple[str, str], float]:
    with session_factory(db)() as s:
        return {(v.pollutant, v.period): v.value for v in s.scalars(select(MonitoringValue))}


def _events(db: Engine) -> list[tuple[str, str | None, str | None]]:
    with session_factory(db)() as s:
        return [(e.outcome, e.mn, e.cn) for e in s.scalars(select(LoggerEvent).order_by(LoggerEvent.id))]


def _count(db: Engine, model: type) -> int:
    with session_factory(db)() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_good_upload_is_stored_through_the_checks_and_acknowledged_on_a_connection_kept_open(
        listener: tuple, client: Client, db: Engine) -> None:
    client.send(_msg("20260301100000001", "35.2"))
    ack = client.answer()
    assert (ack.cn, ack.st, ack.qn, ack.mn, ack.flag) == ("9014", "91", "20260301100000001", "MN-NEW-W1", 4)
    client.send(_msg("20260301110000001", "36.0", hour="10"))  # same connection, next message
    assert client.answer().qn == "20260301110000001"
    with session_factory(db)() as s:
        stored = sorted((v.pollutant, v.at_s % 86_400 // 3600, v.value) for v in s.scalars(select(MonitoringValue)))
    assert stored == [("ammonia_nitrogen", 9, 3.1), ("ammonia_nitrogen", 10, 3.1), ("cod", 9, 35.2), ("cod", 10, 36.0)]
    with session_factory(db)() as s:
        assert set(s.scalars(select(Submission.channel))) == {"hj212"}
    stats = listener[1]
    assert (stats.received, stats.stored, stats.acknowledged, stats.refused, stats.rejected) == (2, 2, 2, 0, 0)


def test_real_time_minute_and_daily_uploads_are_stored_with_their_period(client: Client, db: Engine) -> None:
    client.send(hj212.frame(f"QN=20260301100000101;ST=32;CN=2011;PW={PW};MN=MN-NEW-W1;Flag=5;"
                            "CP=&&DataTime=20260301093030;w01018-Rtd=40.5,w01018-Flag=N&&"))
    client.send(hj212.frame(f"QN=20260301100000102;ST=32;CN=2051;PW={PW};MN=MN-NEW-W1;Flag=5;"
                            "CP=&&DataTime=20260301093000;w01018-Min=30,w01018-Avg=41.5,w01018-Max=50&&"))
    client.send(hj212.frame(f"QN=20260302000000103;ST=32;CN=2031;PW={PW};MN=MN-NEW-W1;Flag=5;"
                            "CP=&&DataTime=20260301000000;w01018-Avg=42.5&&"))
    assert [client.answer().cn for _ in range(3)] == ["9014"] * 3
    assert _values(db) == {("cod", "realtime"): 40.5, ("cod", "minute"): 41.5, ("cod", "day"): 42.5}


def test_a_bad_crc_is_answered_with_qnrtn_9_and_stores_nothing(listener: tuple, client: Client,
                                                               db: Engine) -> None:
    good = _msg("20260301100000002", "40.0")
    bad_crc = good[:-6] + ("0000" if good[-6:-2] != "0000" else "1111") + "\r\n"
    client.send(bad_crc)
    answer = client.answer()
    assert (answer.cn, answer.qn, answer.cp_fields) == ("9011", "20260301100000002", {"QnRtn": "9"})
    assert _count(db, MonitoringValue) == 0
    client.send(good)  # the logger sends it again, intact
    assert client.answer().cn == "9014"
    assert _count(db, MonitoringValue) == 2
    assert ("malformed", "MN-NEW-W1", "2061") in _events(db)
    assert listener[1].rejected == 1


def test_a_wrong_password_is_refused_with_qnrtn_3_and_the_connection_closed_after_three(
        listener: tuple, client: Client, db: Engine) -> None:
    for i in range(3):
        client.send(_msg(f"2026030110000000{i}", pw="guess1"))
        answer = client.answer()
        assert (answer.cn, answer.cp_fields["QnRtn"]) == ("9011", "3")
    assert client.closed()
    assert _count(db, MonitoringValue) == 0 and _count(db, Submission) == 0
    assert [e[0] for e in _events(db)] == ["refused_pw"] * 3
    assert listener[1].closed_for_auth == 1


def test_an_unknown_logger_and_a_logger_without_password_are_refused_with_qnrtn_4(client: Client,
                                                                                    db: Engine) -> None:
    client.send(_msg("20260301100000003", mn="NOBODY"))
    assert client.answer().cp_fields == {"QnRtn": "4"}
    client.send(hj212.frame("QN=20260301100000004;ST=31;CN=2061;PW=123456;MN=MN-NEW-A1;Flag=5;"
                            "CP=&&DataTime=20260301090000;a21026-Avg=10&&"))  # outlet known, no password registered
    assert client.answer().cp_fields == {"QnRtn": "4"}
    assert _count(db, MonitoringValue) == 0
    assert [e[:2] for e in _events(db)] == [("unknown_mn", "NOBODY"), ("unknown_mn", "MN-NEW-A1")]


def test_two_packets_in_one_write_are_both_stored_and_answered_in_order(client: Client, db: Engine) -> None:
    client.send(_msg("20260301100000005", "10.0", hour="05") + _msg("20260301100000006", "11.0", hour="06"))
    assert [client.answer().qn for _ in range(2)] == ["20260301100000005", "20260301100000006"]
    assert _count(db, MonitoringValue) == 4


def test_one_packet_split_across_writes_is_stored_once_it_is_complete(client: Client, db: Engine) -> None:
    raw = _msg("20260301100000007", "12.5", hour="07").encode()
    for piece in (raw[:3], raw[3:50], raw[50:-1], raw[-1:]):
        client.send(piece)
        time.sleep(0.05)
    assert client.answer().qn == "20260301100000007"
    assert _values(db)[("cod", "hour")] == 12.5


def test_junk_and_a_cut_message_do_not_stop_the_listener(listener: tuple, client: Client, db: Engine) -> None:
    good = _msg("20260301100000008", "13.0", hour="08")
    client.send(b"\x00\xffnot a message\r\n" + good[:30].encode())  # junk, then a message cut short ...
    client.send(good)  # ... by the next one
    assert client.answer().qn == "20260301100000008"  # junk and the cut message have no readable MN: no answer
    assert _count(db, MonitoringValue) == 2
    assert listener[1].rejected == 2


def test_values_the_checks_refuse_are_answered_with_qnrtn_2_and_the_wrong_system_code_with_5(
        client: Client, db: Engine) -> None:
    client.send(hj212.frame(f"QN=20260301100000009;ST=32;CN=2061;PW={PW};MN=MN-NEW-W1;Flag=5;"
                            "CP=&&DataTime=20260301090000;w01018-Avg=-5&&"))  # negative concentration (C6)
    assert client.answer().cp_fields == {"QnRtn": "2"}
    client.send(_msg("20260301100000010", st="31"))  # ST 31 (air sources) for a water outlet
    assert client.answer().cp_fields == {"QnRtn": "5"}
    assert _count(db, MonitoringValue) == 0
    assert [e[0] for e in _events(db)] == ["refused", "refused"]


def test_status_uploads_are_kept_and_acknowledged(client: Client, db: Engine) -> None:
    client.send(hj212.frame(f"QN=20260301100000011;ST=32;CN=2021;PW={PW};MN=MN-NEW-W1;Flag=5;"
                            "CP=&&DataTime=20260301100000;w01018-RS=1&&"))
    assert client.answer().cn == "9014"
    assert _events(db) == [("status", "MN-NEW-W1", "2021")]
    with session_factory(db)() as s:
        assert '"RS": "1"' in (s.scalar(select(LoggerEvent.cp)) or "")


def test_a_time_calibration_request_is_answered_with_9013_then_the_clock_is_set_with_1012(
        client: Client, db: Engine) -> None:
    client.send(hj212.frame(f"QN=20260301115959000;ST=32;CN=1013;PW={PW};MN=MN-NEW-W1;Flag=5;CP=&&&&"))
    notified, request = client.answer(), client.answer()
    assert (notified.cn, notified.qn) == ("9013", "20260301115959000")
    assert (request.cn, request.cp_fields, request.flag, request.qn) == ("1012", {"SystemTime": "20260301120000"}, 5,
                                                                         "20260301120000123")
    # the logger answers the request (9011 QnRtn=1) and reports the execution (9012 ExeRtn=1); neither is answered
    client.send(hj212.request_answer(qn=request.qn, mn="MN-NEW-W1", pw=PW, qn_rtn=1))
    client.send(hj212.execution_result(qn=request.qn, mn="MN-NEW-W1", pw=PW, exe_rtn=1))
    client.send(_msg("20260301120000001"))
    assert client.answer().cn == "9014"  # the next answer is the data response: nothing came for 9011/9012
    assert [e[0] for e in _events(db)] == ["notification", "answer", "answer"]


def test_requests_meant_for_loggers_and_unknown_commands_are_refused(client: Client) -> None:
    client.send(hj212.frame(f"QN=20260301100000012;ST=32;CN=1011;PW={PW};MN=MN-NEW-W1;Flag=5;CP=&&&&"))
    assert client.answer().cp_fields == {"QnRtn": "2"}
    client.send(hj212.frame(f"QN=20260301100000013;ST=32;CN=4711;PW={PW};MN=MN-NEW-W1;Flag=5;CP=&&&&"))
    assert client.answer().cp_fields == {"QnRtn": "8"}


def test_an_upload_without_the_answer_bit_is_stored_silently(client: Client, db: Engine) -> None:
    client.send(_msg("20260301100000014", flag=4))
    client.send(_msg("20260301100000015", flag=5, hour="10"))
    assert client.answer().qn == "20260301100000015"  # the first answer is to the second message
    assert _count(db, MonitoringValue) == 4


def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    events: list[hj212.ListenerEvent] = []

    async def nothing(*_: object) -> None:
        raise AssertionError("no message was sent")

    async def keep(event: hj212.ListenerEvent) -> None:
        events.append(event)

    async def scenario() -> bool:
        platform = hj212.Platform(store=nothing, authenticate=nothing, record=keep)  # type: ignore[arg-type]
        server = await hj212.serve(platform, port=0, idle_timeout=0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        eof = await asyncio.wait_for(reader.read(), timeout=10) == b""
        writer.close()
        server.close()
        return eof

    assert asyncio.run(scenario())
    assert [e.outcome for e in events] == ["closed"]


# ---- logger registry -----------------------------------------------------------------------------------------


def test_register_logger_stores_only_a_hash_and_checks_the_mn_and_the_password(session) -> None:  # type: ignore[no-untyped-def]
    build_world(session)
    service.register_logger(session=session, mn="MN-NEW-W1", password="abc12345", username="t")
    stored = session.scalar(select(DataLogger.password_hash))
    assert "abc12345" not in stored and stored.startswith("$argon2")
    assert service.logger_access(session=session, mn="MN-NEW-W1", password="abc12345") == "ok"
    assert service.logger_access(session=session, mn="MN-NEW-W1", password="abc12346") == "wrong_pw"
    assert service.logger_access(session=session, mn="MN-NEW-A1", password="abc12345") == "unknown_mn"
    assert service.register_logger(session=session, mn="MN-NEW-W1", password="new-pw1", username="t")["replaced"]
    assert service.logger_access(session=session, mn="MN-NEW-W1", password="abc12345") == "wrong_pw"
    with pytest.raises(InputError) as e:
        service.register_logger(session=session, mn="NOBODY", password="12;45", username="t")
    assert {p.field for p in e.value.problems} == {"mn", "password"}
    assert list(service.loggers(session=session).mn) == ["MN-NEW-W1"]
