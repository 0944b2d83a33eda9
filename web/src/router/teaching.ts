// The teaching pages (classes, question bank, quizzes, grades of a run): children of the console's frame, under /teacher/. Each has meta.roles and, for the menu, meta.menu.
import type { RouteRecordRaw } from 'vue-router'

export const ROLES = ['teacher'] as const

export const routes: RouteRecordRaw[] = []
