// Account actions shared by the sign-in pages and the frame.
import { api, must } from '@/api/client'
import { session, signedIn, signedOut, type Me } from '@/session'

export async function loadMe(): Promise<Me> {
  const me = (await must(api.GET('/api/v1/me'))) as Me // the server's roles are the Role union
  session.me = me
  return me
}

export async function logout(): Promise<void> {
  const refresh = session.refreshToken
  try {
    if (refresh) await api.POST('/api/v1/auth/logout', { body: { refresh_token: refresh } })
  } finally {
    signedOut()
  }
}

export { signedIn }
