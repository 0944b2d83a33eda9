// Resumable uploads straight to S3 with presigned part URLs: each part PUT with XMLHttpRequest (progress events),
// the asset id remembered per file so a broken upload resumes by asking the server which parts it already has.
import { api, must } from '@/api/client'
import type { components } from '@/api/schema'

type Ticket = components['schemas']['MediaUploadTicket']
type Asset = components['schemas']['MediaAsset']
export type UploadKind = 'course_video' | 'material' | 'extended_material'

const MiB = 1024 * 1024
const KEY = 'open-course-uploads'

function fileKey(file: File): string {
  return `${file.name}|${file.size}|${file.lastModified}`
}

function remembered(): Record<string, string> {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? '{}') as Record<string, string>
  } catch {
    return {}
  }
}

function remember(file: File, assetId: string | null): void {
  const all = remembered()
  if (assetId) all[fileKey(file)] = assetId
  else delete all[fileKey(file)]
  localStorage.setItem(KEY, JSON.stringify(all))
}

function putPart(url: string, blob: Blob, onProgress: (loaded: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('PUT', url)
    xhr.upload.onprogress = (e) => onProgress(e.loaded)
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`S3 ${xhr.status}`)))
    xhr.onerror = () => reject(new Error('network'))
    xhr.onabort = () => reject(new Error('aborted'))
    xhr.send(blob)
  })
}

export interface UploadEvents {
  progress: (fraction: number) => void
  resumed: (partsAlreadyThere: number) => void
}

/** Uploads (or resumes uploading) a file; the asset once completed, or the earlier asset of the same file. */
export async function uploadFile(file: File, kind: UploadKind, events: UploadEvents): Promise<{ asset?: Asset; duplicateOf?: string }> {
  let ticket: Ticket | null = null
  const earlier = remembered()[fileKey(file)]
  if (earlier) {
    const answer = await api.GET('/api/v1/media/uploads/{asset_id}', { params: { path: { asset_id: earlier } } })
    if (answer.data) {
      ticket = answer.data
      events.resumed(ticket.uploaded_parts.length)
    } else {
      remember(file, null) // expired or completed: start again
    }
  }
  if (!ticket) {
    const partSize = Math.min(100 * MiB, Math.max(5 * MiB, Math.ceil(file.size / 1000)))
    ticket = await must(api.POST('/api/v1/media/uploads', {
      body: { filename: file.name, size_bytes: file.size, kind, part_size: partSize },
    }))
    if (ticket.duplicate_of) return { duplicateOf: ticket.duplicate_of }
    remember(file, ticket.asset_id)
  }
  const partSize = Number(ticket.part_size)
  const done = new Map<number, number>(ticket.uploaded_parts.map((n) => [n, Math.min(partSize, file.size - (n - 1) * partSize)]))
  const report = () => events.progress([...done.values()].reduce((a, b) => a + b, 0) / Math.max(1, file.size))
  report()
  for (const part of ticket.parts) {
    const start = (part.number - 1) * partSize
    const blob = file.slice(start, start + Number(part.size_bytes))
    await putPart(part.url, blob, (loaded) => {
      done.set(part.number, loaded)
      report()
    })
    done.set(part.number, blob.size)
    report()
  }
  // no ETags from the browser (S3 does not expose them cross-origin by default): the service lists the parts
  const asset = await must(api.POST('/api/v1/media/uploads/{asset_id}/complete', {
    params: { path: { asset_id: ticket.asset_id } },
    body: { parts: [] },
  }))
  remember(file, null)
  return { asset }
}
