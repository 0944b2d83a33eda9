// A list the API pages with cursors, shown as one growing list with "load more" (threads' replies, logs, pickers),
// and every page of a short list the console must hold whole (a picker whose API has no search).
import { computed, ref, type ComputedRef, type Ref } from 'vue'
import type { Page } from '@/composables/usePaged'

export interface More<T> {
  items: Ref<T[]>
  /** The API's total when it gives one, else -1. */
  total: Ref<number>
  loading: Ref<boolean>
  hasMore: ComputedRef<boolean>
  /** The first page again (after a new search or a change). */
  reload: () => Promise<void>
  /** The next page, appended. */
  more: () => Promise<void>
}

export function useMore<T>(fetch: (pageToken: string, pageSize: number) => Promise<Page<T>>, pageSize = 50): More<T> {
  const items = ref([]) as Ref<T[]>
  const total = ref(-1)
  const loading = ref(false)
  const next = ref('')
  let generation = 0 // a reload started while an older page was on its way wins

  async function load(token: string): Promise<void> {
    const mine = token ? generation : ++generation
    loading.value = true
    try {
      const answer = await fetch(token, pageSize)
      if (mine !== generation) return
      items.value = token ? [...items.value, ...answer.items] : answer.items
      total.value = answer.total ?? -1
      next.value = answer.next_page_token ?? ''
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  return {
    items,
    total,
    loading,
    hasMore: computed(() => Boolean(next.value)),
    reload: () => load(''),
    more: () => (next.value ? load(next.value) : Promise.resolve()),
  }
}

/** Every page of a list, followed to its end (for a picker whose API has no search parameter). */
export async function allPages<T>(fetch: (pageToken: string, pageSize: number) => Promise<Page<T>>,
  pageSize = 200): Promise<T[]> {
  const all: T[] = []
  let token = ''
  do {
    const answer = await fetch(token, pageSize)
    all.push(...answer.items)
    token = answer.next_page_token ?? ''
  } while (token)
  return all
}
