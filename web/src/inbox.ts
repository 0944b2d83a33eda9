// The signed-in user's unread message count, shown in the header and refreshed as they move around.
import { reactive } from 'vue'
import { api } from '@/api/client'
import { session } from '@/session'

export const inbox = reactive({ unread: 0 })

export async function refreshInbox(): Promise<void> {
  if (!session.me || session.me.must_change_password) return
  const { data } = await api.GET('/api/v1/inbox', { params: { query: { unread_only: true, page_size: 1 } } })
  if (data) inbox.unread = data.unread
}
