// quic_relay.mjs - a TCP <-> QUIC relay for making SMB-over-QUIC samples.
//
//   node quic_relay.mjs server LISTEN_HOST LISTEN_PORT FORWARD_HOST FORWARD_PORT ALPN KEY CERT
//       QUIC server (ALPN list ALPN, comma-separated); each QUIC stream it
//       accepts becomes one TCP connection to FORWARD (smbd), bytes copied
//       both ways unchanged.
//   node quic_relay.mjs client TCP_PORT QUIC_HOST QUIC_PORT SNI ALPN KEYLOG
//       TCP listener on 127.0.0.1:TCP_PORT; the first TCP connection opens a
//       QUIC connection (SNI, ALPN list, key log) and one bidirectional stream.
//   node quic_relay.mjs echo QUIC_HOST QUIC_PORT SNI ALPN KEYLOG
//       one QUIC connection, one stream: sends a line, waits for the echo.
//   client ... KEYLOG 0rtt
//       before listening, one QUIC connection without streams to get a
//       session ticket; the tunnel's connection then resumes that session
//       and sends a line on stream 4 as 0-RTT data (the relay's own stream
//       0 carries SMB, after the handshake).  @matrixai/quic has no API for
//       either: its native quiche binding is wrapped (setSession, and
//       streamSend while isInEarlyData).  quiche's server always answers
//       with a Retry, which discards that 0-RTT data (RFC 9000 8.1); quiche's
//       client does not send it again, so it stays off the SMB stream.
//
// The bytes on a stream are exactly what smbclient and smbd write on TCP,
// so SMB keeps its 4-byte direct-transport header inside QUIC.
// @matrixai/quic (quiche inside) is the QUIC implementation.
import net from 'node:net';
import fs from 'node:fs';
import nodeCrypto from 'node:crypto';
import { QUICServer, QUICClient, events } from '@matrixai/quic';
import quiche from '@matrixai/quic/native/quiche.js';

const [mode, ...args] = process.argv.slice(2);
const log = (...m) => console.error(`[relay ${mode}]`, ...m);

const clientCrypto = { ops: { randomBytes: async (buf) => { nodeCrypto.randomFillSync(new Uint8Array(buf)); } } };
const serverKey = nodeCrypto.randomBytes(32);
const serverCrypto = {
  key: serverKey.buffer.slice(serverKey.byteOffset, serverKey.byteOffset + 32),
  ops: {
    sign: async (key, data) => {
      const h = nodeCrypto.createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
      return h.buffer.slice(h.byteOffset, h.byteOffset + h.length);
    },
    verify: async (key, data, sig) => {
      const h = nodeCrypto.createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
      return nodeCrypto.timingSafeEqual(h, Buffer.from(sig));
    },
  },
};

// Copy a web ReadableStream into a node socket, and a socket into a WritableStream.
async function pumpToSocket(readable, sock) {
  const reader = readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      sock.write(Buffer.from(value));
    }
  } catch (e) { log('stream read ended:', e.message); }
  sock.end();
}
function pumpFromSocket(sock, writable) {
  const writer = writable.getWriter();
  sock.on('data', (d) => { writer.write(new Uint8Array(d)).catch(() => {}); });
  sock.on('end', () => { writer.close().catch(() => {}); });
  sock.on('error', () => { writer.abort().catch(() => {}); });
}

// Server side, for resumed connections: @matrixai/quic 2.0.9 builds a new
// BoringSSL context per connection (so no session ticket would ever be
// accepted: give them one ticket key), and crashes (header.token is null) on
// a 0-RTT packet that arrives before its connection exists (drop it, as a
// server may).
const NativeConfig = quiche.Config;
const ticketKey = nodeCrypto.randomBytes(48);
quiche.Config = {
  withBoringSslCtx: (...a) => { const c = NativeConfig.withBoringSslCtx(...a); c.setTicketKey(ticketKey); return c; },
};
const origAccept = QUICServer.prototype.acceptConnection;
QUICServer.prototype.acceptConnection = async function (remoteInfo, header, dcid, data) {
  if (header.ty === quiche.Type.ZeroRTT && header.token == null) return;
  return origAccept.call(this, remoteInfo, header, dcid, data);
};

// Client side: resume `resume.session` and send `resume.early` on stream 4
// as soon as quiche is in early data (after its first flight).
const resume = { session: null, early: null, last: null };
const NativeConnection = quiche.Connection;
quiche.Connection = {
  accept: (...a) => NativeConnection.accept(...a),
  connect: (...a) => {
    const conn = NativeConnection.connect(...a);
    resume.last = conn;
    if (resume.session) {
      conn.setSession(resume.session);
      const send = conn.send.bind(conn);
      let sent = false;
      conn.send = (buf) => {
        const r = send(buf);
        if (!sent && conn.isInEarlyData()) {
          sent = true;
          log('0-RTT: stream 4,', conn.streamSend(4, resume.early, false), 'bytes');
        }
        return r;
      };
    }
    return conn;
  },
};

async function runServer([host, port, fwdHost, fwdPort, alpn, keyFile, certFile]) {
  const server = new QUICServer({
    crypto: serverCrypto,
    config: {
      key: fs.readFileSync(keyFile, 'utf8'),
      cert: fs.readFileSync(certFile, 'utf8'),
      verifyPeer: false,
      applicationProtos: alpn.split(','),
      maxIdleTimeout: 20000,
    },
  });
  server.addEventListener(events.EventQUICServerConnection.name, (evt) => {
    const conn = evt.detail;
    log('connection');
    conn.addEventListener(events.EventQUICConnectionStream.name, (sevt) => {
      const stream = sevt.detail;
      if (fwdHost === 'echo') { // answer each chunk with itself
        (async () => {
          const reader = stream.readable.getReader();
          const writer = stream.writable.getWriter();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            await writer.write(value);
          }
          await writer.close();
        })().catch((e) => log('echo:', e.message));
        return;
      }
      const sock = net.connect(Number(fwdPort), fwdHost);
      sock.on('connect', () => log('forwarding a stream to', fwdHost, fwdPort));
      pumpToSocket(stream.readable, sock);
      pumpFromSocket(sock, stream.writable);
    });
  });
  await server.start({ host, port: Number(port) });
  log('listening on', host, port);
  process.on('SIGTERM', async () => { await server.stop({ force: true }); process.exit(0); });
}

async function connect(host, port, sni, alpn, keylog) {
  return QUICClient.createQUICClient({
    host, port: Number(port), serverName: sni, localHost: host.includes(':') ? '::' : '0.0.0.0',
    crypto: clientCrypto,
    config: { verifyPeer: false, applicationProtos: alpn.split(','), logKeys: keylog, maxIdleTimeout: 20000 },
  });
}

async function runClient([tcpPort, host, port, sni, alpn, keylog, zeroRtt]) {
  let client = null;
  if (zeroRtt === '0rtt') { // a first connection only for its session ticket
    const first = await connect(host, port, sni, alpn, keylog + '.warmup'); // its keys stay out of the sample's log
    for (let i = 0; i < 50 && !resume.last.session(); i++) await new Promise((r) => setTimeout(r, 100));
    resume.session = resume.last.session();
    if (!resume.session) throw new Error('no session ticket');
    resume.early = new TextEncoder().encode('smbscope: 0-RTT data on stream 4, not SMB\n');
    await first.destroy({ isApp: true, errorCode: 0 });
    log('session ticket:', resume.session.length, 'bytes');
  }
  const tcp = net.createServer(async (sock) => {
    sock.pause();
    if (!client) client = await connect(host, port, sni, alpn, keylog);
    if (resume.session) log('resumed:', resume.last.isResumed());
    const stream = client.connection.newStream();
    pumpToSocket(stream.readable, sock);
    pumpFromSocket(sock, stream.writable);
    sock.resume();
  });
  tcp.listen(Number(tcpPort), '127.0.0.1', () => log('tcp listening on', tcpPort));
  process.on('SIGTERM', async () => {
    tcp.close();
    if (client) await client.destroy({ isApp: true, errorCode: 0 });
    process.exit(0);
  });
}

async function runEcho([host, port, sni, alpn, keylog]) {
  const client = await connect(host, port, sni, alpn, keylog);
  const stream = client.connection.newStream();
  const writer = stream.writable.getWriter();
  await writer.write(new TextEncoder().encode('smbscope: not SMB, an echo over QUIC\n'));
  await writer.close();
  const reader = stream.readable.getReader();
  let got = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    got += value.length;
  }
  log('echoed', got, 'bytes');
  await client.destroy({ isApp: true, errorCode: 0 });
  process.exit(0);
}

const runners = { server: runServer, client: runClient, echo: runEcho };
if (!runners[mode]) { console.error('usage: quic_relay.mjs server|client|echo ...'); process.exit(2); }
runners[mode](args).catch((e) => { log('failed:', e.stack || e); process.exit(1); });
