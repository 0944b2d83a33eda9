// A list the API pages with cursors (page_size, page_token → items, next_page_token, total).
import { computed, ref, type Ref } from 'vue'

export interface Page<T> {
  items: T[]
  next_page_token?: string
  total?: number
}

export interface Paged<T> {
  items: Ref<T[]>
  total: Ref<number>
  page: Ref<number>
  loading: Ref<boolean>
  hasNext: Ref<boolean>
  hasPrev: Ref<boolean>
  /** Back to the first page (after a new search or a change). */
  reload: () => Promise<void>
  next: () => Promise<void>
  prev: () => Promise<void>
}

export function usePaged<T>(fetch: (pageToken: string, pageSize: number) => Promise<Page<T>>, pageSize = 20): Paged<T> {
  const items = ref([]) as Ref<T[]>
  const total = ref(0)
  const loading = ref(false)
  const tokens = ref<string[]>(['']) // tokens[i] fetches page i + 1
  const page = ref(1)
  const nextToken = ref('')

  async function load(index: number): Promise<void> {
    loading.value = true
    try {
      const answer = await fetch(tokens.value[index], pageSize)
      items.value = answer.items
      total.value = answer.total ?? answer.items.length
      nextToken.value = answer.next_page_token ?? ''
      page.value = index + 1
      if (nextToken.value) tokens.value[index + 1] = nextToken.value
    } finally {
      loading.value = false
    }
  }

  return {
    items,
    total,
    page,
    loading,
    hasNext: computed(() => Boolean(nextToken.value)),
    hasPrev: computed(() => page.value > 1),
    reload: () => {
      tokens.value = ['']
      return load(0)
    },
    next: () => load(page.value),
    prev: () => load(page.value - 2),
  }
}
