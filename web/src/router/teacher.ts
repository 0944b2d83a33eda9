// The teacher's course building pages: courses, the course editor (info, plan, materials, runs, team), files.
import type { RouteRecordRaw } from 'vue-router'
import { Collection, Flag, Stamp, VideoCamera } from '@element-plus/icons-vue'

const roles = ['teacher' as const]

export const routes: RouteRecordRaw[] = [
  {
    path: 'teacher/courses',
    name: 'teacher-courses',
    component: () => import('@/views/teacher/TeacherCourses.vue'),
    meta: { roles, menu: 'teacher.menu.courses', icon: Collection },
  },
  {
    path: 'teacher/courses/:courseId',
    name: 'teacher-course',
    component: () => import('@/views/teacher/CourseEditor.vue'),
    props: true,
    meta: { roles },
  },
  {
    path: 'teacher/media',
    name: 'teacher-media',
    component: () => import('@/views/teacher/MediaLibrary.vue'),
    meta: { roles, menu: 'teacher.menu.media', icon: VideoCamera },
  },
  {
    path: 'teacher/review-tasks',
    name: 'teacher-review-tasks',
    component: () => import('@/views/teacher/ReviewTasks.vue'),
    meta: { roles, menu: 'panels.menu.tasks', icon: Stamp },
  },
  {
    path: 'teacher/projects',
    name: 'teacher-projects',
    component: () => import('@/views/teacher/ProjectsPage.vue'),
    meta: { roles, menu: 'projects.menu', icon: Flag },
  },
  {
    path: 'teacher/projects/new',
    name: 'teacher-project-new',
    component: () => import('@/views/teacher/ProjectApplication.vue'),
    meta: { roles },
  },
  {
    path: 'teacher/projects/:projectId',
    name: 'teacher-project',
    component: () => import('@/views/common/ProjectDetail.vue'),
    props: true,
    meta: { roles },
  },
]
