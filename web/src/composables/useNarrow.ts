import { onBeforeUnmount, ref, type Ref } from 'vue'

/** True on a phone-sized screen (below 768 px): menus become drawers, tables fewer columns. */
export function useNarrow(): Ref<boolean> {
  const query = window.matchMedia('(max-width: 767px)')
  const narrow = ref(query.matches)
  const update = (e: MediaQueryListEvent) => (narrow.value = e.matches)
  query.addEventListener('change', update)
  onBeforeUnmount(() => query.removeEventListener('change', update))
  return narrow
}
