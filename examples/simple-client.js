// simple_client.html: development mode, where the server needs no token.
import { mountCallUi } from '/examples/call-ui.js';

mountCallUi();
