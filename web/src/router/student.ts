// The student pages: children of the console's frame, under /student/. Each has meta.roles and, for the menu, meta.menu.
import type { RouteRecordRaw } from 'vue-router'

export const ROLES = ['student'] as const

export const routes: RouteRecordRaw[] = []
