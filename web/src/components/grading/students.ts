// The students of a run by id (name, number, class) from its classes' rosters: the assessment API names students by
// id only. A roster the caller may not read leaves those students shown by id.
import { api, must } from '@/api/client'
import type { components } from '@/api/schema'

type CourseClass = components['schemas']['CourseCourseClass']
export interface RunStudent {
  user_id: string
  name: string
  number: string
  class_name: string
}

export async function runStudents(runId: string): Promise<{ classes: CourseClass[]; students: Map<string, RunStudent> }> {
  const classes = (await must(api.GET('/api/v1/runs/{run_id}/classes', { params: { path: { run_id: runId } } }))).items
  const rosters = await Promise.all(classes.map((c) =>
    api.GET('/api/v1/classes/{class_id}/students', { params: { path: { class_id: c.id } } })
      .then((answer) => ({ course: c, students: answer.data?.students ?? [] }))))
  const students = new Map<string, RunStudent>()
  for (const roster of rosters) {
    for (const s of roster.students) {
      students.set(s.user_id, { user_id: s.user_id, name: s.name, number: s.number, class_name: roster.course.name })
    }
  }
  return { classes, students }
}
