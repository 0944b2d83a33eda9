import { api, must } from '@/api/client'

/** Opens a file attached to a submission through its short-lived link (the server decides who may read it). */
export async function openAttachment(submissionId: string, attachmentId: string): Promise<void> {
  const link = await must(api.GET('/api/v1/learning/submissions/{submission_id}/attachments/{attachment_id}', {
    params: { path: { submission_id: submissionId, attachment_id: attachmentId } },
  }))
  window.open(link.url, '_blank', 'noopener')
}
