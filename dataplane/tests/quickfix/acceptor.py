"""QuickFIX (PyPI quickfix-tls) as a TLS 1.3 FIX 4.4 acceptor on the kernel's TCP, for
tickwire's userspace stack + TLS client + FIX initiator to log on to.

Each NewOrderSingle is checked field by field and answered with an ExecutionReport (a fill)
that echoes its ClOrdID. Once COUNT orders have arrived and the initiator has logged out, prints
one summary line and exits 0 if every order was well-formed and answered.

Usage: acceptor.py PORT CERT_PEM KEY_PEM WORKDIR COUNT
"""
import os
import sys
import time

import quickfix as fix

port, cert, key, work, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

settings_text = f"""[DEFAULT]
ConnectionType=acceptor
SocketAcceptPort={port}
FileStorePath={work}/store
StartTime=00:00:00
EndTime=00:00:00
UseDataDictionary=N
ValidateUserDefinedFields=N
SSLProtocol=TLSv1_3
ServerCertificateFile={cert}
ServerCertificateKeyFile={key}

[SESSION]
BeginString=FIX.4.4
SenderCompID=QFVENUE
TargetCompID=TESTCLIENT
ResetOnLogon=Y
"""
path = os.path.join(work, "acceptor.cfg")
with open(path, "w") as f:
    f.write(settings_text)

EXPECTED = {55: "BTC/USD", 54: "1", 40: "2", 59: "3", 44: "84000.0", 38: "0.01"}


class App(fix.Application):
    def __init__(self):
        super().__init__()
        self.logons = 0
        self.logouts = 0
        self.orders = 0
        self.well_formed = 0
        self.reports = 0
        self.last_id = 0
        self.out_of_order = 0
        self.errors = []

    def onCreate(self, session_id):
        pass

    def onLogon(self, session_id):
        self.logons += 1

    def onLogout(self, session_id):
        self.logouts += 1

    def toAdmin(self, message, session_id):
        pass

    def fromAdmin(self, message, session_id):
        pass

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        try:
            msg_type = message.getHeader().getField(35)
            if msg_type != "D":
                self.errors.append(f"unexpected MsgType {msg_type}")
                return
            self.orders += 1
            cl = message.getField(11)
            ok = all(message.getField(tag) == value for tag, value in EXPECTED.items())
            ok = ok and len(message.getField(60)) == 21 and cl.isdigit() and len(cl) == 16
            if ok:
                self.well_formed += 1
            else:
                self.errors.append(f"malformed order {message.toString()!r}")
            if int(cl) <= self.last_id:
                self.out_of_order += 1
            self.last_id = int(cl)
            er = fix.Message()
            er.getHeader().setField(fix.MsgType(fix.MsgType_ExecutionReport))
            er.setField(37, f"QF-{self.orders}")
            er.setField(17, f"QFX-{self.orders}")
            er.setField(11, cl)
            er.setField(150, "F")
            er.setField(39, "2")
            er.setField(55, "BTC/USD")
            er.setField(54, "1")
            er.setField(38, "0.01")
            er.setField(44, "84000.0")
            er.setField(31, "84000.0")
            er.setField(32, "0.01")
            er.setField(151, "0")
            er.setField(14, "0.01")
            er.setField(6, "84000.0")
            fix.Session.sendToTarget(er, session_id)
            self.reports += 1
        except Exception as e:  # a QuickFIX FieldNotFound and friends
            self.errors.append(f"{type(e).__name__}: {e}")


app = App()
settings = fix.SessionSettings(path)
acceptor = fix.SSLSocketAcceptor(
    app, fix.FileStoreFactory(settings), settings, fix.ScreenLogFactory(False, False, False)
)
acceptor.start()
print("ready", flush=True)
deadline = time.time() + 180
while not (app.orders >= count and app.logouts > 0) and time.time() < deadline:
    time.sleep(0.02)
time.sleep(0.2)
acceptor.stop()
print(
    f"quickfix: logons {app.logons} orders {app.orders} well-formed {app.well_formed} "
    f"reports {app.reports} out-of-order {app.out_of_order} logouts {app.logouts} "
    f"errors {len(app.errors)}",
    flush=True,
)
for e in app.errors[:5]:
    print(f"quickfix error: {e}", flush=True)
good = (
    app.orders == count
    and app.well_formed == count
    and app.reports == count
    and app.out_of_order == 0
    and app.logouts > 0
    and not app.errors
)
sys.exit(0 if good else 1)
