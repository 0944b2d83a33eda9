// Every string of the console lives in these catalogues: Chinese by default, English switchable.
// Each area has its own file (zh/<area>.ts and en/<area>.ts); an English file must have the Chinese file's keys.
import { createI18n } from 'vue-i18n'
import zhCommon from './zh/common'
import zhStudent from './zh/student'
import zhTeacher from './zh/teacher'
import zhTeaching from './zh/teaching'
import zhAdmin from './zh/admin'
import zhCenter from './zh/center'
import zhPlatform from './zh/platform'
import zhProjects from './zh/projects'
import zhPanels from './zh/panels'
import zhGrading from './zh/grading'
import zhMarks from './zh/marks'
import zhPolicies from './zh/policies'
import zhLists from './zh/lists'
import zhErrors from './zh/errors'
import enCommon from './en/common'
import enStudent from './en/student'
import enTeacher from './en/teacher'
import enTeaching from './en/teaching'
import enAdmin from './en/admin'
import enCenter from './en/center'
import enPlatform from './en/platform'
import enProjects from './en/projects'
import enPanels from './en/panels'
import enGrading from './en/grading'
import enMarks from './en/marks'
import enPolicies from './en/policies'
import enLists from './en/lists'
import enErrors from './en/errors'

const zh = {
  common: zhCommon,
  student: zhStudent,
  teacher: zhTeacher,
  teaching: zhTeaching,
  admin: zhAdmin,
  center: zhCenter,
  platform: zhPlatform,
  projects: zhProjects,
  panels: zhPanels,
  grading: zhGrading,
  marks: zhMarks,
  policies: zhPolicies,
  lists: zhLists,
  errors: zhErrors,
}
export type Messages = typeof zh

const en: Messages = {
  common: enCommon,
  student: enStudent,
  teacher: enTeacher,
  teaching: enTeaching,
  admin: enAdmin,
  center: enCenter,
  platform: enPlatform,
  projects: enProjects,
  panels: enPanels,
  grading: enGrading,
  marks: enMarks,
  policies: enPolicies,
  lists: enLists,
  errors: enErrors,
}

export type Locale = 'zh' | 'en'
const LOCALE_KEY = 'open-course-locale'

export const i18n = createI18n<[Messages], Locale, false>({
  legacy: false,
  locale: (localStorage.getItem(LOCALE_KEY) as Locale | null) ?? 'zh',
  fallbackLocale: 'zh',
  messages: { zh, en },
})

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(LOCALE_KEY, locale)
  document.documentElement.lang = locale === 'zh' ? 'zh-CN' : 'en'
}
