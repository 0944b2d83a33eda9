// The student pages' strings (English): the same keys as zh/student.ts.
import type zh from '../zh/student'

const en: typeof zh = {
  menu: {},
}
export default en
