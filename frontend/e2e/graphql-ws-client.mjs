// The `graphql-ws` npm client, as an app would use it: subscribes with the
// request given as JSON, prints "subscribed" once the server acknowledged
// the connection, then each event as one line of JSON, and exits after
// COUNT events (status 1 on an error or a close).
// Usage: node graphql-ws-client.mjs URL REQUEST_JSON COUNT [TOKEN]
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, request, count, token] = process.argv.slice(2);
let left = Number(count);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  on: { connected: () => console.log('subscribed') },
});
client.subscribe(JSON.parse(request), {
  next: (event) => {
    console.log(JSON.stringify(event));
    left -= 1;
    if (left === 0) {
      client.dispose();
      process.exit(0);
    }
  },
  error: (error) => {
    console.error(error);
    process.exit(1);
  },
  complete: () => process.exit(left === 0 ? 0 : 1),
});
