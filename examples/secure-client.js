// secure_client.html: sign in with POST /auth/login, then join with the token. The password stays in
// this page's memory (never in storage) so fresh tokens can be fetched for the `auth` refresh and
// after a 4401; a production app would use a refresh-token flow instead.
import { LoginError, login } from '/client/signaling-client.js';
import { mountCallUi } from '/examples/call-ui.js';

const loginPanel = document.getElementById('login-panel');
const loginForm = document.getElementById('login-form');
const loginButton = document.getElementById('login');
const loginError = document.getElementById('login-error');
const usernameInput = document.getElementById('username');
const passwordInput = document.getElementById('password');
const accountPanel = document.getElementById('account-panel');
const roomPanel = document.getElementById('room-panel');
const signedInUser = document.getElementById('signed-in-user');
const tokenExpiry = document.getElementById('token-expiry');
const logoutButton = document.getElementById('logout');

let credentials = null;
/** The token from the sign-in form, used for the first connection only; later ones log in again. */
let unusedGrant = null;

const call = mountCallUi({
  getToken: async () => {
    if (unusedGrant) {
      const grant = unusedGrant;
      unusedGrant = null;
      return grant;
    }
    if (!credentials) return null;
    const grant = await login(location.origin, credentials.username, credentials.password);
    showExpiry(grant);
    return grant;
  },
});

loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  loginError.hidden = true;
  loginButton.disabled = true;
  const username = usernameInput.value.trim();
  const password = passwordInput.value;
  try {
    const grant = await login(location.origin, username, password);
    credentials = { username, password };
    unusedGrant = grant;
    passwordInput.value = '';
    signedInUser.textContent = username;
    showExpiry(grant);
    loginPanel.hidden = true;
    accountPanel.hidden = false;
    roomPanel.hidden = false;
    document.getElementById('room-id').focus();
  } catch (error) {
    loginError.textContent = error instanceof LoginError ? error.message : `Sign-in failed: ${error}`;
    loginError.hidden = false;
    passwordInput.select();
  } finally {
    loginButton.disabled = false;
  }
});

logoutButton.addEventListener('click', () => {
  call.leave();
  credentials = null;
  unusedGrant = null;
  accountPanel.hidden = true;
  roomPanel.hidden = true;
  loginPanel.hidden = false;
  usernameInput.focus();
});

function showExpiry(grant) {
  if (typeof grant.expiresIn !== 'number') {
    tokenExpiry.textContent = 'valid';
    return;
  }
  const until = new Date(Date.now() + grant.expiresIn * 1000);
  const minutes = Math.round(grant.expiresIn / 60);
  tokenExpiry.textContent = `valid ${minutes} min (until ${until.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}), refreshed automatically`;
}
