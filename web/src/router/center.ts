// The center pages: children of the console's frame, under /center/. Each has meta.roles and, for the menu, meta.menu.
import type { RouteRecordRaw } from 'vue-router'

export const ROLES = ['center_admin'] as const

export const routes: RouteRecordRaw[] = []
