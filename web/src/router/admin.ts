// The admin pages: children of the console's frame, under /admin/. Each has meta.roles and, for the menu, meta.menu.
import type { RouteRecordRaw } from 'vue-router'

export const ROLES = ['school_admin'] as const

export const routes: RouteRecordRaw[] = []
