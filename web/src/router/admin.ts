// The school admin's pages: review queues, accounts and imports, adoptions both ways, certificates, workload.
import type { RouteRecordRaw } from 'vue-router'
import { Checked, Collection, Connection, Flag, Medal, Memo, OfficeBuilding, Operation, StarFilled, Tickets, Timer, UserFilled } from '@element-plus/icons-vue'

const roles = ['school_admin' as const]
const adopters = ['school_admin' as const, 'teacher' as const]

export const routes: RouteRecordRaw[] = [
  {
    path: 'admin/reviews',
    name: 'admin-reviews',
    component: () => import('@/views/admin/AdminReviews.vue'),
    meta: { roles, menu: 'admin.menu.reviews', icon: Checked },
  },
  {
    path: 'admin/rubrics',
    name: 'admin-rubrics',
    component: () => import('@/views/admin/RubricsPage.vue'),
    meta: { roles, menu: 'panels.menu.rubrics', icon: Memo },
  },
  {
    path: 'admin/panels',
    name: 'admin-panels',
    component: () => import('@/views/admin/PanelRounds.vue'),
    meta: { roles, menu: 'panels.menu.rounds', icon: Tickets },
  },
  {
    path: 'admin/accounts',
    name: 'admin-accounts',
    component: () => import('@/views/admin/AccountsPage.vue'),
    meta: { roles, menu: 'admin.menu.accounts', icon: UserFilled },
  },
  {
    path: 'admin/colleges',
    name: 'admin-colleges',
    component: () => import('@/views/admin/CollegesPage.vue'),
    meta: { roles, menu: 'admin.menu.colleges', icon: OfficeBuilding },
  },
  {
    path: 'admin/courses',
    name: 'admin-courses',
    component: () => import('@/views/admin/SchoolCourses.vue'),
    meta: { roles, menu: 'admin.menu.courses', icon: Collection },
  },
  {
    path: 'admin/projects',
    name: 'admin-projects',
    component: () => import('@/views/admin/ProjectsPage.vue'),
    meta: { roles, menu: 'projects.menu', icon: Flag },
  },
  {
    path: 'admin/projects/:projectId',
    name: 'admin-project',
    component: () => import('@/views/common/ProjectDetail.vue'),
    props: true,
    meta: { roles },
  },
  {
    path: 'admin/adoptions',
    name: 'admin-adoptions',
    component: () => import('@/views/admin/AdoptionsPage.vue'),
    meta: { roles: adopters, menu: 'admin.menu.adoptions', icon: Connection },
  },
  {
    path: 'admin/evaluation',
    name: 'admin-evaluation',
    component: () => import('@/views/admin/EvaluationPage.vue'),
    meta: { roles, menu: 'admin.menu.evaluation', icon: StarFilled },
  },
  {
    path: 'admin/workload',
    name: 'admin-workload',
    component: () => import('@/views/admin/WorkloadPage.vue'),
    meta: { roles, menu: 'admin.menu.workload', icon: Timer },
  },
  {
    path: 'admin/certificates',
    name: 'admin-certificates',
    component: () => import('@/views/admin/CertificatesPage.vue'),
    meta: { roles, menu: 'admin.menu.certificates', icon: Medal },
  },
  {
    path: 'admin/policy',
    name: 'admin-policy',
    component: () => import('@/views/admin/SchoolPolicy.vue'),
    meta: { roles, menu: 'policies.menu.schoolPolicy', icon: Operation },
  },
]
