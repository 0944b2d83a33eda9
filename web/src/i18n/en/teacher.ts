// The teacher pages' strings (English): the same keys as zh/teacher.ts.
import type zh from '../zh/teacher'

const en: typeof zh = {
  menu: {},
}
export default en
