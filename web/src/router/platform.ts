// The platform admin's pages: out-of-province school applications, schools, the mesh's health.
import type { RouteRecordRaw } from 'vue-router'
import { DocumentChecked, Monitor, School } from '@element-plus/icons-vue'

const roles = ['platform_admin' as const]

export const routes: RouteRecordRaw[] = [
  {
    path: 'platform/applications',
    name: 'platform-applications',
    component: () => import('@/views/platform/ApplicationsPage.vue'),
    meta: { roles, menu: 'platform.menu.applications', icon: DocumentChecked },
  },
  {
    path: 'platform/schools',
    name: 'platform-schools',
    component: () => import('@/views/platform/SchoolsPage.vue'),
    meta: { roles, menu: 'platform.menu.schools', icon: School },
  },
  {
    path: 'platform/operations',
    name: 'platform-operations',
    component: () => import('@/views/platform/OperationsPage.vue'),
    meta: { roles, menu: 'platform.menu.operations', icon: Monitor },
  },
]
