// The typed client of the gateway's public API (types generated from its OpenAPI document into schema.d.ts).
import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from './schema'
import { session, refreshIfDue, signedOut } from '@/session'
import { refusalText } from '@/refusals'

export type { paths }

/** An answer of the API that is not a success: the problem document's detail and reason (RFC 9457). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string = '',
    readonly body: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

const auth: Middleware = {
  async onRequest({ request, schemaPath }) {
    if (!schemaPath.startsWith('/api/v1/auth/')) await refreshIfDue()
    if (session.accessToken && !request.headers.has('Authorization')) {
      request.headers.set('Authorization', `Bearer ${session.accessToken}`)
    }
    return request
  },
  async onResponse({ response, schemaPath }) {
    if (response.status === 401 && session.accessToken && !schemaPath.startsWith('/api/v1/auth/')) signedOut()
    return response
  },
}

export const api = createClient<paths>({ baseUrl: '' })
api.use(auth)

type Answer<T> = { data?: T; error?: unknown; response: Response }

/** The data of an answer, or an ApiError with the server's explanation. */
export async function must<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call
  if (!response.ok) throw problemOf(response.status, error)
  return data as T
}

export function problemOf(status: number, error: unknown): ApiError {
  const body = (error && typeof error === 'object' ? error : {}) as Record<string, unknown>
  const errors = Array.isArray(body.errors) ? (body.errors as { field?: string; message?: string }[]) : []
  const detail = typeof body.detail === 'string' ? body.detail : ''
  const extra = errors.map((e) => [e.field, e.message].filter(Boolean).join(': ')).join('; ')
  // in the reader's language when the catalogue knows the refusal (web/src/refusals.ts), else as the server wrote it
  const message = refusalText(status, body) || [detail, extra].filter(Boolean).join(' — ') || `HTTP ${status}`
  return new ApiError(status, message, typeof body.reason === 'string' ? body.reason : '', body)
}

/** A file download (XLSX, CSV) through the API with the caller's token, saved under the server's file name. */
export async function download(path: string, params: Record<string, string> = {}): Promise<void> {
  await refreshIfDue()
  const query = new URLSearchParams(params).toString()
  const response = await fetch(query ? `${path}?${query}` : path, {
    headers: session.accessToken ? { Authorization: `Bearer ${session.accessToken}` } : {},
  })
  if (!response.ok) throw problemOf(response.status, await response.json().catch(() => ({})))
  const disposition = response.headers.get('Content-Disposition') ?? ''
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition)
  const plain = /filename="?([^";]+)"?/i.exec(disposition)
  const name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : 'download'
  const url = URL.createObjectURL(await response.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.click()
  URL.revokeObjectURL(url)
}

/** A multipart upload (spreadsheets, subtitles) to a route the typed client does not cover as a form. */
export async function postForm<T>(path: string, form: FormData, params: Record<string, string> = {}): Promise<T> {
  await refreshIfDue()
  const query = new URLSearchParams(params).toString()
  const response = await fetch(query ? `${path}?${query}` : path, {
    method: 'POST',
    body: form,
    headers: session.accessToken ? { Authorization: `Bearer ${session.accessToken}` } : {},
  })
  const body = await response.json().catch(() => ({}))
  if (!response.ok) throw problemOf(response.status, body)
  return body as T
}
