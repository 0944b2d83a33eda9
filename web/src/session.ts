// Who is signed in: tokens kept in localStorage (the tab survives a reload), the account from GET /me.
import { reactive } from 'vue'
import type { components } from '@/api/schema'

export type Role = 'student' | 'teacher' | 'college_admin' | 'school_admin' | 'center_admin' | 'platform_admin'

/** The signed-in account (GET /me), its role narrowed to the roles the console knows. */
export type Me = Omit<components['schemas']['IdentityUser'], 'role'> & { role: Role }

type Tokens = components['schemas']['IdentityTokenPair']

const KEY = 'open-course-session'

export const session = reactive({
  accessToken: '',
  refreshToken: '',
  expiresAt: 0,
  me: null as Me | null,
})

function save(): void {
  localStorage.setItem(
    KEY,
    JSON.stringify({ accessToken: session.accessToken, refreshToken: session.refreshToken, expiresAt: session.expiresAt }),
  )
}

export function restore(): void {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<typeof session>
    session.accessToken = saved.accessToken ?? ''
    session.refreshToken = saved.refreshToken ?? ''
    session.expiresAt = saved.expiresAt ?? 0
  } catch {
    localStorage.removeItem(KEY)
  }
}

export function signedIn(tokens: Tokens): void {
  session.accessToken = tokens.access_token
  session.refreshToken = tokens.refresh_token
  session.expiresAt = Date.now() + tokens.expires_in * 1000
  save()
}

let onSignedOut: () => void = () => {}

export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback
}

export function signedOut(): void {
  session.accessToken = ''
  session.refreshToken = ''
  session.expiresAt = 0
  session.me = null
  localStorage.removeItem(KEY)
  onSignedOut()
}

let refreshing: Promise<void> | null = null

/** A new token pair shortly before the access token expires (one refresh at a time). */
export async function refreshIfDue(): Promise<void> {
  if (!session.refreshToken || session.expiresAt - Date.now() > 60_000) return
  refreshing ??= (async () => {
    try {
      const response = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: session.refreshToken }),
      })
      if (response.ok) signedIn((await response.json()) as Tokens)
      else signedOut()
    } finally {
      refreshing = null
    }
  })()
  await refreshing
}
