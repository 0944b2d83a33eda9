import { createApp } from 'vue'
import ElementPlus, { ElMessage } from 'element-plus'
import 'element-plus/dist/index.css'
import App from './App.vue'
import { router } from './router'
import { i18n } from './i18n'
import { restore, whenSignedOut } from './session'
import { ApiError } from './api/client'

restore()
whenSignedOut(() => {
  if (!router.currentRoute.value.meta.public) void router.push({ name: 'login' })
})

/** What went wrong: a refusal the catalogue knows in the reader's language (see refusals.ts), else in the server's words. */
function explain(error: unknown): void {
  if (error instanceof ApiError) ElMessage.error({ message: error.message, showClose: true, duration: 6000 })
  else if (error instanceof TypeError) ElMessage.error(i18n.global.t('common.errors.network'))
  else console.error(error)
}

const app = createApp(App)
app.config.errorHandler = (error) => explain(error)
window.addEventListener('unhandledrejection', (event) => {
  explain(event.reason)
  event.preventDefault()
})
app.use(ElementPlus).use(i18n).use(router).mount('#app')
