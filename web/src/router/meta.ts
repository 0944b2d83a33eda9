import type { Component } from 'vue'
import type { Role } from '@/session'
import 'vue-router'

declare module 'vue-router' {
  interface RouteMeta {
    /** Pages anyone may open without signing in (sign-in, registration, password reset). */
    public?: boolean
    /** The roles that may open the page; absent: any signed-in account. */
    roles?: Role[]
    /** The menu entry's i18n key; absent: not in the menu. */
    menu?: string
    /** The menu entry's icon (an @element-plus/icons-vue component). */
    icon?: Component
  }
}
