import { ref, type Ref } from 'vue'

/** A form's action and the server's explanation when it fails (shown inline, next to what the user typed). */
export function useAttempt(): { failure: Ref<string>; attempt: (action: () => Promise<unknown>) => Promise<boolean> } {
  const failure = ref('')
  async function attempt(action: () => Promise<unknown>): Promise<boolean> {
    failure.value = ''
    try {
      await action()
      return true
    } catch (error) {
      failure.value = error instanceof Error ? error.message : String(error)
      return false
    }
  }
  return { failure, attempt }
}
