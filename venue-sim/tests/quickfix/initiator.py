"""QuickFIX (PyPI quickfix-tls) as an initiator against the venue's conformance profile over
TLS 1.3: logon, N NewOrderSingles, wait for every echo, logout. Exit 0 only if all came back.

Usage: initiator.py PORT CA_PEM WORKDIR N
"""
import os
import sys
import time

import quickfix as fix

port, ca, work, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

settings_text = f"""[DEFAULT]
ConnectionType=initiator
SocketConnectHost=127.0.0.1
SocketConnectPort={port}
HeartBtInt=30
ReconnectInterval=1
FileStorePath={work}/store
StartTime=00:00:00
EndTime=00:00:00
UseDataDictionary=N
SSLProtocol=TLSv1_3
CertificationAuthoritiesFile={ca}
ValidateUserDefinedFields=N

[SESSION]
BeginString=FIX.4.4
SenderCompID=TW44
TargetCompID=ISLD
ResetOnLogon=Y
"""
path = os.path.join(work, "initiator.cfg")
with open(path, "w") as f:
    f.write(settings_text)


class App(fix.Application):
    def __init__(self):
        super().__init__()
        self.session = None
        self.logged_on = False
        self.echoes = set()

    def onCreate(self, session_id):
        self.session = session_id

    def onLogon(self, session_id):
        self.logged_on = True

    def onLogout(self, session_id):
        self.logged_on = False

    def toAdmin(self, message, session_id):
        pass

    def fromAdmin(self, message, session_id):
        pass

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        msg_type = fix.MsgType()
        message.getHeader().getField(msg_type)
        if msg_type.getValue() == fix.MsgType_NewOrderSingle:
            cl = fix.ClOrdID()
            message.getField(cl)
            self.echoes.add(cl.getValue())


app = App()
settings = fix.SessionSettings(path)
initiator = fix.SSLSocketInitiator(app, fix.FileStoreFactory(settings), settings, fix.ScreenLogFactory(False, False, False))
initiator.start()
deadline = time.time() + 20
while not app.logged_on and time.time() < deadline:
    time.sleep(0.05)
if not app.logged_on:
    print("quickfix: logon failed")
    sys.exit(2)
for i in range(count):
    m = fix.Message()
    m.getHeader().setField(fix.MsgType(fix.MsgType_NewOrderSingle))
    m.setField(fix.ClOrdID(f"QF-{i}"))
    m.setField(fix.HandlInst("1"))
    m.setField(fix.Symbol("BTC/USD"))
    m.setField(fix.Side(fix.Side_BUY))
    m.setField(fix.OrdType(fix.OrdType_LIMIT))
    m.setField(fix.Price(84000.0))
    m.setField(fix.OrderQty(0.01))
    m.setField(fix.TransactTime())
    fix.Session.sendToTarget(m, app.session)
deadline = time.time() + 30
while len(app.echoes) < count and time.time() < deadline:
    time.sleep(0.05)
print(f"quickfix: sent {count}, echoed {len(app.echoes)}")
fix.Session.lookupSession(app.session).logout("done")
time.sleep(0.5)
initiator.stop()
sys.exit(0 if len(app.echoes) == count else 1)
