// The college admin's course-building projects (在线开放课程立项建设): the college's list and each project, read-only.
import type { RouteRecordRaw } from 'vue-router'
import { Flag } from '@element-plus/icons-vue'

const roles = ['college_admin' as const]

export const routes: RouteRecordRaw[] = [
  {
    path: 'college/projects',
    name: 'college-projects',
    component: () => import('@/views/admin/ProjectsPage.vue'),
    meta: { roles, menu: 'projects.menu', icon: Flag },
  },
  {
    path: 'college/projects/:projectId',
    name: 'college-project',
    component: () => import('@/views/common/ProjectDetail.vue'),
    props: true,
    meta: { roles },
  },
]
