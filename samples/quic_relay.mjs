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
//
// The bytes on a stream are exactly what smbclient and smbd write on TCP,
// so SMB keeps its 4-byte direct-transport header inside QUIC.
// @matrixai/quic (quiche inside) is the QUIC implementation.
import net from 'node:net';
import fs from 'node:fs';
import nodeCrypto from 'node:crypto';
import { QUICServer, QUICClient, events } from '@matrixai/quic';

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

async function runClient([tcpPort, host, port, sni, alpn, keylog]) {
  let client = null;
  const tcp = net.createServer(async (sock) => {
    sock.pause();
    if (!client) client = await connect(host, port, sni, alpn, keylog);
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
